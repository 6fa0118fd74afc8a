#!/bin/sh
# Keep a command running, as a process supervisor would: start it again (after 2 s) whenever
# it exits, until this script is told to stop (TERM or INT). honcho has no restart policy and
# stops every process when one exits; `make run` runs the worker under this instead.
# Usage: scripts/supervise.sh COMMAND [ARG...]
stopping=
child=
trap 'stopping=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM INT
while :; do
    "$@" &
    child=$!
    wait "$child"
    status=$?
    if [ -n "$stopping" ]; then
        # A trapped signal ends `wait` early (status 128+N): wait on until the command has
        # exited, then ask once more for its own status, which the shell keeps for us.
        while kill -0 "$child" 2>/dev/null; do
            wait "$child"
        done
        wait "$child"
        exit $?
    fi
    echo "supervise: '$*' exited with status $status; starting it again in 2 s" >&2
    sleep 2
    [ -n "$stopping" ] && exit "$status"
done
