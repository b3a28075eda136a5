#!/usr/bin/env bash
# scripts/dev.sh — starts the whole stack locally: NATS, Redis, one edge and two sim workers.
#
# Installs what is missing (scripts/install-deps.sh), builds the two binaries (debug profile:
# it builds fastest and shares its artifacts with `cargo test`), starts nats-server and
# redis-server on their own ports with data in ./.dev/, then wagw-api and two wagw-worker
# processes (WAGW_DRIVER=sim), creates a dev API key and prints how to use it. Logs go to
# .dev/logs/. Ctrl-C stops everything (TERM, then KILL after WAGW_DEV_STOP_TIMEOUT seconds;
# a second Ctrl-C kills at once) and exits 0.
#
# Knobs (environment):
#   WAGW_DEV_HTTP_PORT   8080   the edge's port on 127.0.0.1
#   WAGW_DEV_NATS_PORT   4322   NATS (not 4222, so a machine's own NATS does not clash)
#   WAGW_DEV_REDIS_PORT  6479   Redis (not 6379, likewise)
#   WAGW_DEV_RELEASE     unset  1 = build and run the release profile instead
#   WAGW_DEV_SKIP_BUILD  unset  1 = do not run cargo; use the binaries already built
#   WAGW_DEV_BIN_DIR     target/<profile>  where wagw-api and wagw-worker are taken from
#   WAGW_DEV_STOP_TIMEOUT 10    seconds a process gets between TERM and KILL
#   WAGW_DEV_READY_TIMEOUT 60   seconds to wait for each server to accept connections
# Every other WAGW_* variable you export (e.g. WAGW_SIM_AUTO_PAIR_MS=0, RUST_LOG=debug) reaches
# the binaries as it is; the addresses, gateway, worker ids and driver are set here.
set -euo pipefail
WAGW_SCRIPT=dev
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
wagw_fix_path

NATS_PORT=${WAGW_DEV_NATS_PORT:-4322}
REDIS_PORT=${WAGW_DEV_REDIS_PORT:-6479}
HTTP_PORT=${WAGW_DEV_HTTP_PORT:-8080}
STOP_TIMEOUT=${WAGW_DEV_STOP_TIMEOUT:-10}
READY_TIMEOUT=${WAGW_DEV_READY_TIMEOUT:-60}
PROFILE=debug
[[ ${WAGW_DEV_RELEASE:-} == 1 ]] && PROFILE=release
BIN_DIR=${WAGW_DEV_BIN_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE}
GATEWAY=gw-local-1
KEY_PREFIX=${WAGW_KEY_PREFIX:-wagw}
DEV=$ROOT/.dev
LOGS=$DEV/logs
RUN=$DEV/run
NATS_URL=nats://127.0.0.1:$NATS_PORT
REDIS_URL=redis://127.0.0.1:$REDIS_PORT
API_URL=http://127.0.0.1:$HTTP_PORT

for var in NATS_PORT REDIS_PORT HTTP_PORT STOP_TIMEOUT READY_TIMEOUT; do
    [[ ${!var} =~ ^[0-9]+$ ]] || die "WAGW_DEV_$var must be a number, got '${!var}'"
done

NAMES=() # process names, in start order
PIDS=()  # their pids, same index
FORCE=0

# start NAME COMMAND...: runs COMMAND in its own session (so the terminal's Ctrl-C reaches only
# this script, which then stops everything in order), output to .dev/logs/NAME.log.
start() {
    local name=$1
    shift
    setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
    NAMES+=("$name")
    PIDS+=("$!")
    echo "$!" >"$RUN/$name.pid"
    say "started $name (pid $!, log .dev/logs/$name.log)"
}

alive() {
    kill -0 "$1" 2>/dev/null
}

pid_of() {
    local i
    for i in "${!NAMES[@]}"; do
        [[ ${NAMES[i]} == "$1" ]] && { echo "${PIDS[i]}"; return 0; }
    done
    return 1
}

show_log() {
    say "last lines of .dev/logs/$1.log:"
    tail -n 20 "$LOGS/$1.log" 2>/dev/null | sed 's/^/    /' >&2 || true
}

# wait_ready NAME WHAT COMMAND...: waits until COMMAND succeeds; fails at once if NAME died.
wait_ready() {
    local name=$1 what=$2 pid
    shift 2
    pid=$(pid_of "$name")
    local deadline=$((SECONDS + READY_TIMEOUT))
    until "$@"; do
        if ! alive "$pid"; then
            show_log "$name"
            die "$name exited before $what"
        fi
        if ((SECONDS >= deadline)); then
            show_log "$name"
            die "timed out after ${READY_TIMEOUT}s waiting for $what"
        fi
        sleep 0.2
    done
}

# stop_procs NAME...: TERM, wait up to STOP_TIMEOUT (0 after a second Ctrl-C), then KILL.
stop_procs() {
    local name pid waiting=() deadline=$((SECONDS + STOP_TIMEOUT))
    for name in "$@"; do
        pid=$(pid_of "$name") || continue
        if alive "$pid"; then
            kill -TERM "$pid" 2>/dev/null || true
            waiting+=("$name")
        fi
    done
    for name in "${waiting[@]}"; do
        pid=$(pid_of "$name")
        while alive "$pid" && ((SECONDS < deadline && FORCE == 0)); do
            sleep 0.1
        done
        if alive "$pid"; then
            if ((FORCE)); then say "killing $name"; else say "$name did not stop in ${STOP_TIMEOUT}s; killing it"; fi
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
        rm -f "$RUN/$name.pid"
    done
}

cleanup() {
    local rc=$?
    set +e
    trap 'FORCE=1' INT TERM HUP
    trap - EXIT
    if ((${#PIDS[@]})); then
        say "stopping (Ctrl-C again to kill at once)"
        stop_procs api
        stop_procs worker-1 worker-2
        stop_procs redis nats
        say "stopped"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 0' INT TERM HUP

# A previous run that was killed without its cleanup leaves pid files of live processes.
check_stale() {
    local file pid name
    for file in "$RUN"/*.pid; do
        [[ -e $file ]] || continue
        pid=$(<"$file")
        name=$(basename "$file" .pid)
        if [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" &&
            grep -qaE 'nats-server|redis-server|wagw-api|wagw-worker' "/proc/$pid/cmdline" 2>/dev/null; then
            die "a previous dev stack is still running ($name is pid $pid); stop it with Ctrl-C in its terminal, or: kill $(cat "$RUN"/*.pid | tr '\n' ' ')"
        fi
        rm -f "$file"
    done
}

check_ports() {
    local port what busy=0
    for pair in "$NATS_PORT:NATS:WAGW_DEV_NATS_PORT" "$REDIS_PORT:Redis:WAGW_DEV_REDIS_PORT" \
        "$HTTP_PORT:the API:WAGW_DEV_HTTP_PORT"; do
        IFS=: read -r port what var <<<"$pair"
        if port_busy "$port"; then
            say "port $port (for $what) is already in use on 127.0.0.1; free it, or pick another: $var=<port> ./scripts/dev.sh"
            say "  to see who holds it: ss -ltnp 'sport = :$port'"
            busy=1
        fi
    done
    ((busy == 0)) || die "cannot start: a port is taken"
}

build() {
    if [[ ${WAGW_DEV_SKIP_BUILD:-} == 1 ]]; then
        say "skipping cargo build (WAGW_DEV_SKIP_BUILD=1)"
        return
    fi
    local args=(build --bin wagw-api --bin wagw-worker)
    [[ $PROFILE == release ]] && args+=(--release)
    say "cargo ${args[*]}"
    cargo "${args[@]}"
}

redis_ok() {
    [[ $(redis-cli -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
}

api_ready() {
    curl -fsS -o /dev/null --max-time 2 "$API_URL/readyz" 2>/dev/null
}

# live_workers: how many workers of the gateway heartbeated in the last 10 s.
live_workers() {
    redis-cli -p "$REDIS_PORT" ZCOUNT "$KEY_PREFIX:gw:$GATEWAY:members" "$(($(now_ms) - 10000))" +inf 2>/dev/null || echo 0
}

# dev_api_key: reuses .dev/api-key while it still works, else creates one with wagw-api.
dev_api_key() {
    local key='' code out
    if [[ -s $DEV/api-key ]]; then
        key=$(<"$DEV/api-key")
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
            -H "Authorization: Bearer $key" "$API_URL/api/v1/sessions?pageSize=1" || true)
        [[ $code == 200 ]] && { echo "$key"; return; }
    fi
    out=$(WAGW_REDIS_URL=$REDIS_URL WAGW_KEY_PREFIX=$KEY_PREFIX "$BIN_DIR/wagw-api" create-api-key \
        --org org_dev --name dev --capabilities read,manage,send,admin 2>>"$LOGS/api-key.log") ||
        die "wagw-api create-api-key failed; see .dev/logs/api-key.log"
    key=${out%%$'\n'*}
    [[ $key == wagw_* ]] || die "wagw-api create-api-key printed no key (first line: '$key')"
    (umask 077 && echo "$key" >"$DEV/api-key")
    echo "$key"
}

mkdir -p "$LOGS" "$RUN" "$DEV/nats" "$DEV/redis"
check_stale
check_ports
bash scripts/install-deps.sh
build
for bin in wagw-api wagw-worker; do
    [[ -x $BIN_DIR/$bin ]] || die "$BIN_DIR/$bin not found; build it (cargo build) or set WAGW_DEV_BIN_DIR"
done
check_ports # again: the build can take minutes

start nats nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$DEV/nats"
start redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$DEV/redis" --appendonly yes
wait_ready nats "NATS to accept connections on $NATS_PORT" port_busy "$NATS_PORT"
wait_ready redis "Redis to answer PING on $REDIS_PORT" redis_ok

common_env=(
    "WAGW_NATS_URL=$NATS_URL"
    "WAGW_REDIS_URL=$REDIS_URL"
    "RUST_LOG=${RUST_LOG:-info}"
    "WAGW_LOG_FORMAT=${WAGW_LOG_FORMAT:-pretty}"
)
start api env "${common_env[@]}" "WAGW_HTTP_ADDR=127.0.0.1:$HTTP_PORT" "WAGW_GATEWAYS=$GATEWAY" \
    "$BIN_DIR/wagw-api"
for n in 1 2; do
    start "worker-$n" env "${common_env[@]}" "WAGW_GATEWAY_ID=$GATEWAY" "WAGW_WORKER_ID=dev-worker-$n" \
        WAGW_DRIVER=sim "$BIN_DIR/wagw-worker"
done
wait_ready api "$API_URL/readyz" api_ready
KEY=$(dev_api_key)

all_alive() {
    local pid
    for pid in "${PIDS[@]}"; do alive "$pid" || return 1; done
}
deadline=$((SECONDS + 20))
until (($(live_workers) >= 2)) || ((SECONDS >= deadline)) || ! all_alive; do
    sleep 0.2
done
(($(live_workers) >= 2)) ||
    say "warning: the workers have not registered in Redis yet; commands may answer 503 until they do (see .dev/logs/worker-*.log)"

cat <<EOF

  wagw dev stack is up: gateway $GATEWAY, two workers with the sim driver
    API       $API_URL/api/v1    (reference: $API_URL/docs)
    API key   $KEY
              org org_dev, capabilities read,manage,send,admin; also saved in .dev/api-key
    NATS      $NATS_URL    Redis  $REDIS_URL
    logs      .dev/logs/{api,worker-1,worker-2,nats,redis}.log

  Try:
    curl -s -H 'Authorization: Bearer $KEY' $API_URL/api/v1/sessions

  For the README's walk-through, in another terminal:
    export API=$API_URL/api/v1 KEY=\$(cat .dev/api-key)

  Ctrl-C stops everything.

EOF

# Run until Ctrl-C (the INT trap exits 0) or until a process dies (exit 1).
while true; do
    dead='' status=0
    wait -n -p dead "${PIDS[@]}" 2>/dev/null || status=$?
    for i in "${!PIDS[@]}"; do
        if [[ ${PIDS[i]} == "${dead:-}" ]] || ! alive "${PIDS[i]}"; then
            show_log "${NAMES[i]}"
            die "${NAMES[i]} exited unexpectedly (status $status); stopping the rest"
        fi
    done
    sleep 0.5
done
