# shellcheck shell=bash
# scripts/lib.sh — helpers sourced by the other scripts (not run on its own).

# Debian puts nats-server in /usr/sbin, which is not on a normal user's PATH; rustup puts
# cargo in ~/.cargo/bin, which a fresh shell may not have picked up yet. The tests find
# nats-server and redis-server on PATH, so every script fixes PATH the same way.
wagw_fix_path() {
    local dir
    for dir in /usr/local/sbin /usr/sbin /sbin "${CARGO_HOME:-$HOME/.cargo}/bin"; do
        case ":$PATH:" in
            *":$dir:"*) ;;
            *) [[ -d $dir ]] && PATH="$PATH:$dir" ;;
        esac
    done
    export PATH
}

# say MESSAGE...: one line on stderr, prefixed with the calling script's name.
# Never fails, so a closed terminal cannot abort a cleanup half-way.
say() {
    printf '%s: %s\n' "${WAGW_SCRIPT:-wagw}" "$*" >&2 || true
}

die() {
    say "error: $*"
    exit 1
}

# port_busy PORT: true when something already accepts TCP connections on 127.0.0.1:PORT.
port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# now_ms: milliseconds since the Unix epoch.
now_ms() {
    date +%s%3N
}

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s until it succeeds;
# fails after SECONDS. Callers add their own "is the process still alive" check to COMMAND.
wait_until() {
    local seconds=$1 what=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        if ((SECONDS >= deadline)); then
            say "timed out after ${seconds}s waiting for $what"
            return 1
        fi
        sleep 0.2
    done
}
