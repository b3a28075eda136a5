#!/usr/bin/env bash
# scripts/test.sh — runs every check and test: fmt, clippy, docs, then the whole workspace's tests.
#
# Installs what is missing first (scripts/install-deps.sh). The tests start their own
# nats-server and redis-server processes on free ports, so nothing needs to be running and a
# machine's own NATS (4222) or Redis (6379) is never touched. Every step runs even when an
# earlier one failed, so one run shows every problem; the exit status is non-zero if any failed.
# The last line adds up cargo test's results: `tests: N passed, N failed, N skipped`.
#
# Knobs (environment):
#   WAGW_TEST_RUNNER  cargo    `nextest` runs the tests with cargo-nextest (plus doc tests
#                              with cargo test --doc); the default is plain `cargo test`
#   extra arguments           passed to the test runner, e.g. `scripts/test.sh session_` runs
#                             only tests whose name contains session_
set -euo pipefail
WAGW_SCRIPT="test"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
wagw_fix_path

started=$SECONDS
failed=()

# step NAME COMMAND...: runs one step with a header and its duration; records a failure.
step() {
    local name=$1 begin=$SECONDS rc=0
    shift
    local shown="$*"
    [[ $1 == cargo_test ]] && shown="cargo test --workspace --no-fail-fast ${*:2}"
    printf '\n==> %s: %s\n' "$name" "$shown"
    "$@" || rc=$?
    if ((rc == 0)); then
        printf '==> %s: ok (%ds)\n' "$name" $((SECONDS - begin))
    else
        printf '==> %s: FAILED with exit %d (%ds)\n' "$name" "$rc" $((SECONDS - begin))
        failed+=("$name")
    fi
}

bash scripts/install-deps.sh
printf '==> toolchain: %s; %s\n' "$(rustc --version)" "$(cargo --version)"

step fmt cargo fmt --all -- --check
step clippy cargo clippy --workspace --all-targets -- -D warnings
step docs env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
# The worker's default build has the real WhatsApp driver; the sim-only build (no AGPL code,
# see NOTICE) is linted too, so it never rots.
step clippy-sim-only cargo clippy -p wagw-worker --all-targets --no-default-features -- -D warnings
# cargo_test ARGS...: cargo test, its output kept in $test_log to count the results.
test_log=$(mktemp)
trap 'rm -f "$test_log"' EXIT
cargo_test() {
    cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$test_log"
    return "${PIPESTATUS[0]}"
}

runner=${WAGW_TEST_RUNNER:-cargo}
if [[ $runner == nextest ]] && ! cargo nextest --version >/dev/null 2>&1; then
    say "WAGW_TEST_RUNNER=nextest but cargo-nextest is not installed; using cargo test"
    runner=cargo
fi
case $runner in
    nextest)
        step doctests cargo test --workspace --doc
        step tests cargo nextest run --workspace --no-fail-fast "$@"
        ;;
    cargo) step tests cargo_test "$@" ;;
    *) die "WAGW_TEST_RUNNER must be cargo or nextest, got '$runner'" ;;
esac

elapsed=$((SECONDS - started))
if ((${#failed[@]})); then
    printf '\ntest.sh: FAILED steps: %s (%ds in all)\n' "${failed[*]}" "$elapsed"
else
    printf '\ntest.sh: fmt, clippy, docs and tests all clean (%ds in all)\n' "$elapsed"
fi
# One closing line with the totals of every `test result:` line cargo test printed.
if grep -q '^test result: ' "$test_log"; then
    sed -nE 's/^test result: [A-Za-z]+\. ([0-9]+) passed; ([0-9]+) failed; ([0-9]+) ignored.*/\1 \2 \3/p' "$test_log" |
        awk '{ p += $1; f += $2; i += $3 } END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, i }'
fi
((${#failed[@]} == 0))
