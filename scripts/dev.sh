#!/usr/bin/env bash
# scripts/dev.sh — starts the whole stack locally: NATS, Redis, one edge and two workers.
#
#   ./scripts/dev.sh          workers with the real WhatsApp driver (WAGW_DRIVER=whatsapp)
#   ./scripts/dev.sh --sim    workers with the simulated phone (WAGW_DRIVER=sim)
#   ./scripts/dev.sh --help   this text
#
# Installs what is missing (scripts/install-deps.sh), builds the two binaries (debug profile:
# it builds fastest and shares its artifacts with `cargo test`), starts nats-server and
# redis-server on their own ports with their data in ./.dev/<driver>/ (each driver keeps its
# own sessions), then wagw-api and two wagw-worker processes, creates a dev API key and prints
# how to use it. Logs go to .dev/logs/. Ctrl-C stops everything (TERM, then KILL after
# WAGW_DEV_STOP_TIMEOUT seconds; a second Ctrl-C kills at once) and exits 0. A worker that
# dies while the other lives is reported and the stack runs on (its sessions move over); any
# other process dying, or the last worker, stops everything with exit 1.
#
# The real driver seals each session's WhatsApp state in Redis with WAGW_STATE_KEY. The script
# makes one once, in .dev/state-key (mode 600), and gives it to the workers; keep that file as
# long as you keep .dev/whatsapp/: without it every session must be paired again. A
# WAGW_STATE_KEY you export yourself wins over the file. The sim needs no key.
#
# Knobs (environment):
#   WAGW_DEV_HTTP_PORT   8080   the edge's port on 127.0.0.1
#   WAGW_DEV_NATS_PORT   4322   NATS (not 4222, so a machine's own NATS does not clash)
#   WAGW_DEV_REDIS_PORT  6479   Redis (not 6379, likewise)
#   WAGW_DEV_METRICS_PORT 9464  worker-1's Prometheus /metrics; worker-2 gets the next port
#   WAGW_DEV_RELEASE     unset  1 = build and run the release profile instead
#   WAGW_DEV_SKIP_BUILD  unset  1 = do not run cargo; use the binaries already built
#   WAGW_DEV_BIN_DIR     target/<profile>  where wagw-api and wagw-worker are taken from
#   WAGW_DEV_STOP_TIMEOUT 10    seconds a process gets between TERM and KILL
#   WAGW_DEV_READY_TIMEOUT 60   seconds to wait for each server to accept connections
# Every other WAGW_* variable you export (e.g. WAGW_SIM_AUTO_PAIR_MS=0, WAGW_WA_VERSION,
# RUST_LOG=debug) reaches the binaries as it is; the addresses, gateway, worker ids and driver
# are set here.
set -euo pipefail
WAGW_SCRIPT=dev
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
wagw_fix_path

usage() {
    cat <<'EOF'
Usage: ./scripts/dev.sh [--sim]

Starts NATS (127.0.0.1:4322), Redis (127.0.0.1:6479), the edge (http://127.0.0.1:8080) and
two workers of gateway gw-local-1, with their data and logs in .dev/. Ctrl-C stops them all.

  (no flag)   the workers run the real WhatsApp driver (WAGW_DRIVER=whatsapp): pair a real
              phone by QR or pairing code (README, "Pair a real phone"). The state key that
              seals the sessions' WhatsApp keys in Redis is made once in .dev/state-key.
  --sim       the workers run the simulated phone (WAGW_DRIVER=sim), which pairs by itself
              after WAGW_SIM_AUTO_PAIR_MS (3 s); no phone, network or state key needed.
  -h, --help  this text

The WAGW_DEV_* knobs (ports, release build, skipping the build, timeouts) are listed at the
top of this script and in docs/configuration.md.
EOF
}

DRIVER=whatsapp
while (($#)); do
    case $1 in
        --sim) DRIVER=sim ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            die "unknown argument '$1'"
            ;;
    esac
    shift
done

NATS_PORT=${WAGW_DEV_NATS_PORT:-4322}
REDIS_PORT=${WAGW_DEV_REDIS_PORT:-6479}
HTTP_PORT=${WAGW_DEV_HTTP_PORT:-8080}
METRICS_PORT=${WAGW_DEV_METRICS_PORT:-9464}
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

for var in NATS_PORT REDIS_PORT HTTP_PORT METRICS_PORT STOP_TIMEOUT READY_TIMEOUT; do
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
    # A closed output (`dev.sh | tee` after Ctrl-C) must not kill the cleanup half-way.
    trap '' PIPE
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
        "$HTTP_PORT:the API:WAGW_DEV_HTTP_PORT" \
        "$METRICS_PORT:worker-1's metrics:WAGW_DEV_METRICS_PORT" \
        "$((METRICS_PORT + 1)):worker-2's metrics:WAGW_DEV_METRICS_PORT"; do
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

# state_key: prints the key the real driver's workers get: an exported WAGW_STATE_KEY, else
# .dev/state-key, made once (32 random bytes as 64 hex digits, mode 600). It is never
# replaced: a new key cannot open the WhatsApp state sealed with the old one.
state_key() {
    local file=$DEV/state-key key=''
    if [[ -n ${WAGW_STATE_KEY:-} ]]; then
        say "using the WAGW_STATE_KEY from your environment (not .dev/state-key)"
        echo "$WAGW_STATE_KEY"
        return
    fi
    if [[ ! -e $file ]]; then
        if command -v openssl >/dev/null; then
            key=$(openssl rand -hex 32)
        else
            key=$(head -c32 /dev/urandom | od -An -tx1 | tr -d ' \n')
        fi
        [[ $key =~ ^[0-9a-f]{64}$ ]] || die "could not generate a state key"
        (umask 077 && echo "$key" >"$file.tmp") && mv "$file.tmp" "$file"
        say "made a new state key in .dev/state-key (keep it: losing it unpairs every session)"
    fi
    [[ -f $file && -r $file ]] || die ".dev/state-key is not a readable file"
    [[ $(stat -c %a "$file") == 600 ]] || {
        chmod 600 "$file"
        say "made .dev/state-key private (mode 600)"
    }
    key=$(<"$file")
    [[ -n $key ]] || die ".dev/state-key is empty; restore it, or remove it and .dev/whatsapp/" \
        "(its sessions cannot be opened without their key) to start afresh"
    echo "$key"
}

if [[ $DRIVER == sim ]]; then
    say "driver: sim (a simulated phone; run without --sim for real WhatsApp)"
else
    say "driver: whatsapp (real WhatsApp Web; --sim for the simulator)"
fi
# Each driver has its own NATS and Redis data: the real driver must not try to connect the sim's
# made-up numbers, nor the sim "connect" numbers paired with real phones.
DATA=$DEV/$DRIVER
mkdir -p "$LOGS" "$RUN" "$DATA/nats" "$DATA/redis"
STATE_KEY=''
[[ $DRIVER == whatsapp ]] && STATE_KEY=$(state_key)
check_stale
check_ports
bash scripts/install-deps.sh
build
for bin in wagw-api wagw-worker; do
    [[ -x $BIN_DIR/$bin ]] || die "$BIN_DIR/$bin not found; build it (cargo build) or set WAGW_DEV_BIN_DIR"
done
check_ports # again: the build can take minutes

start nats nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$DATA/nats"
start redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$DATA/redis" --appendonly yes
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
    worker=(env "${common_env[@]}" "WAGW_GATEWAY_ID=$GATEWAY" "WAGW_WORKER_ID=dev-worker-$n"
        "WAGW_METRICS_ADDR=127.0.0.1:$((METRICS_PORT + n - 1))" "WAGW_DRIVER=$DRIVER"
        "$BIN_DIR/wagw-worker")
    if [[ $DRIVER == whatsapp ]]; then
        # Through the environment of the workers alone, not their command line (`ps` shows that).
        WAGW_STATE_KEY=$STATE_KEY start "worker-$n" "${worker[@]}"
    else
        start "worker-$n" "${worker[@]}"
    fi
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

if [[ $DRIVER == sim ]]; then
    cat <<EOF

  wagw dev stack is up: gateway $GATEWAY, two workers with the sim driver (a simulated phone)
    API       $API_URL/api/v1    (reference: $API_URL/docs)
    console   $API_URL/console   (sign in with the API key below)
    API key   $KEY
              org org_dev, capabilities read,manage,send,admin; also saved in .dev/api-key
    NATS      $NATS_URL    Redis  $REDIS_URL
    metrics   $API_URL/metrics (edge), http://127.0.0.1:$METRICS_PORT/metrics (worker-1),
              http://127.0.0.1:$((METRICS_PORT + 1))/metrics (worker-2)
    logs      .dev/logs/{api,worker-1,worker-2,nats,redis}.log

  Try:
    curl -s -H 'Authorization: Bearer $KEY' $API_URL/api/v1/sessions

  For the README's walk-through, in another terminal:
    export API=$API_URL/api/v1 KEY=\$(cat .dev/api-key)

  Ctrl-C stops everything.

EOF
else
    cat <<EOF

  wagw dev stack is up: gateway $GATEWAY, two workers with the whatsapp driver (real WhatsApp Web)
    API       $API_URL/api/v1    (reference: $API_URL/docs)
    console   $API_URL/console   (sign in with the API key below; pair a phone from there)
    API key   $KEY
              org org_dev, capabilities read,manage,send,admin; also saved in .dev/api-key
    state key .dev/state-key: seals the sessions' WhatsApp keys in Redis (.dev/whatsapp/);
              without it every session must be paired again
    NATS      $NATS_URL    Redis  $REDIS_URL
    metrics   $API_URL/metrics (edge), http://127.0.0.1:$METRICS_PORT/metrics (worker-1),
              http://127.0.0.1:$((METRICS_PORT + 1))/metrics (worker-2)
    logs      .dev/logs/{api,worker-1,worker-2,nats,redis}.log

  Pair a phone (README, "Pair a real phone"), in another terminal:
    export API=$API_URL/api/v1 KEY=\$(cat .dev/api-key)
    ID=\$(curl -s -X POST "\$API/sessions" -H "Authorization: Bearer \$KEY" \\
      -H 'Content-Type: application/json' -d '{"label":"My phone"}' \\
      | sed -E 's/.*"id":"([0-9A-Z]{26})".*/\1/'); echo "ID=\$ID"
    curl -s "\$API/sessions/\$ID/qr" -H "Authorization: Bearer \$KEY" -H 'Accept: image/png' -o qr.png
  then scan qr.png from WhatsApp > Settings > Linked devices > Link a device (the QR changes
  every 20 s: fetch it again). Or pair by code: POST \$API/sessions/\$ID/pairing-code with
  {"phoneNumber":"<digits with country code>"}. Linked, the session shows "status":"working":
    curl -s "\$API/sessions/\$ID" -H "Authorization: Bearer \$KEY"; echo

  Watch the status changes in a third terminal: scripts/nats.sh sub 'wagw.status.>'
  Ctrl-C stops everything. Paired sessions connect again at the next start.

EOF
fi

# Run until Ctrl-C (the INT trap exits 0) or until a process dies (exit 1). A worker may die
# while another lives: its shards, and their sessions, move to the survivor (the README's
# "kill one worker and watch"), so the stack keeps running with one worker fewer.
watched=("${!PIDS[@]}") # indexes into NAMES/PIDS of the processes still expected to run
while true; do
    pids=()
    for i in "${watched[@]}"; do pids+=("${PIDS[i]}"); done
    dead='' status=0
    wait -n -p dead "${pids[@]}" 2>/dev/null || status=$?
    still=() gone=() workers=0
    for i in "${watched[@]}"; do
        if [[ ${PIDS[i]} == "${dead:-}" ]] || ! alive "${PIDS[i]}"; then
            show_log "${NAMES[i]}"
            [[ ${NAMES[i]} == worker-* ]] ||
                die "${NAMES[i]} exited unexpectedly (status $status); stopping the rest"
            gone+=("${NAMES[i]}")
            rm -f "$RUN/${NAMES[i]}.pid"
            continue
        fi
        still+=("$i")
        [[ ${NAMES[i]} == worker-* ]] && workers=$((workers + 1))
    done
    ((workers > 0)) ||
        die "${gone[*]} exited (status $status) and no worker is left; stopping the rest"
    ((${#gone[@]} == 0)) ||
        say "${gone[*]} exited (status $status); its sessions move to the workers left," \
            "without pairing again"
    watched=("${still[@]}")
    sleep 0.5
done
