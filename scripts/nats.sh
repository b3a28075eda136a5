#!/usr/bin/env bash
# scripts/nats.sh — a tiny NATS client in plain bash, for when the `nats` CLI is not installed.
#
#   scripts/nats.sh req SUBJECT [JSON]   request-reply: prints the reply (timeout 5 s)
#   scripts/nats.sh pub SUBJECT [JSON]   publish once
#   scripts/nats.sh sub SUBJECT          print every message as "SUBJECT PAYLOAD" until Ctrl-C
#
# It speaks the NATS text protocol over bash's /dev/tcp: no TLS, no auth, no headers. That is
# all the dev stack needs. The server is WAGW_DEV_NATS_URL, else nats://127.0.0.1:$WAGW_DEV_NATS_PORT
# (default port 4322, the one scripts/dev.sh starts). NATS_TIMEOUT (seconds) bounds `req`.
set -euo pipefail
WAGW_SCRIPT=nats.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export LC_ALL=C # byte lengths, not character counts

usage() {
    sed -n '3,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

(($# >= 2)) || usage
verb=$1 subject=$2 body=${3:-}
url=${WAGW_DEV_NATS_URL:-nats://127.0.0.1:${WAGW_DEV_NATS_PORT:-4322}}
hostport=${url#nats://}
host=${hostport%%:*} port=${hostport##*:}
timeout=${NATS_TIMEOUT:-5}

{ exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null || die "cannot connect to NATS at $url (is ./scripts/dev.sh running?)"

# next_line VAR [TIMEOUT]: reads one protocol line from the server into VAR, without the CR.
next_line() {
    local -n out=$1
    IFS= read -r -t "${2:-$timeout}" out <&3 || return 1
    out=${out%$'\r'}
}

# read_payload SIZE VAR: reads a message body of SIZE bytes and its trailing CRLF.
# shellcheck disable=SC2034 # `into` is a nameref and `crlf` is read only to be dropped
read_payload() {
    local -n into=$2
    into=
    if (($1 > 0)); then
        IFS= read -r -N "$1" -t "$timeout" into <&3 || return 1
    fi
    local crlf
    next_line crlf
}

line=
next_line line || die "no INFO from $url"
[[ $line == INFO* ]] || die "unexpected greeting from $url: $line"
printf 'CONNECT {"verbose":false,"pedantic":false,"headers":false,"name":"wagw-nats.sh","lang":"bash","version":"1"}\r\n' >&3

case $verb in
    pub)
        printf 'PUB %s %d\r\n%s\r\nPING\r\n' "$subject" "${#body}" "$body" >&3
        ;;
    req)
        inbox="_INBOX.wagw_sh_${RANDOM}${RANDOM}${RANDOM}"
        printf 'SUB %s 1\r\nPUB %s %s %d\r\n%s\r\nPING\r\n' \
            "$inbox" "$subject" "$inbox" "${#body}" "$body" >&3
        ;;
    sub)
        printf 'SUB %s 1\r\nPING\r\n' "$subject" >&3
        timeout=3600
        ;;
    *) usage ;;
esac

while next_line line "$timeout"; do
    case $line in
        PING) printf 'PONG\r\n' >&3 ;;
        PONG)
            if [[ $verb == pub ]]; then exit 0; fi
            if [[ $verb == sub ]]; then say "listening on $subject at $url (Ctrl-C to stop)"; fi
            ;;
        -ERR*) die "server said: ${line#-ERR }" ;;
        MSG\ *)
            read -r -a parts <<<"$line"
            payload=
            read_payload "${parts[-1]}" payload || die "connection closed in the middle of a message"
            if [[ $verb == req ]]; then
                printf '%s\n' "$payload"
                exit 0
            fi
            printf '%s %s\n' "${parts[1]}" "$payload"
            ;;
        *) ;; # +OK, INFO updates
    esac
done
[[ $verb == req ]] && die "no reply on $subject within ${timeout}s (no worker owns it, or the id is wrong)"
die "connection to $url closed"
