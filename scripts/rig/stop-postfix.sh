#!/usr/bin/env bash
# stop-postfix.sh DIR [--purge] - stop the instance that start-postfix.sh DIR
# started. Only that instance's master process is signalled; --purge then
# deletes DIR.
set -uo pipefail
DIR=${1:?usage: stop-postfix.sh DIR [--purge]}
PURGE=${2:-}
if [ ! -d "$DIR" ]; then echo "no instance folder $DIR"; exit 0; fi
DIR=$(cd "$DIR" && pwd -P) || exit 1
pid=$(tr -d ' \n' < "$DIR/queue/pid/master.pid" 2>/dev/null || true)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  # "postfix stop" waits for the master to exit; fall back to a signal.
  postfix -c "$DIR/conf" stop >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "stop-postfix: master $pid still running after 10 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null
  fi
  echo "stopped postfix rig in $DIR (master pid $pid)"
else
  echo "no running postfix rig in $DIR"
fi
if [ "$PURGE" = --purge ]; then
  rm -rf -- "$DIR"
  echo "removed $DIR"
fi
