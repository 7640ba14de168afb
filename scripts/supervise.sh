#!/usr/bin/env bash
# Run a command, and run it again whenever it exits, until this script is told to stop
# (make run keeps its worker alive this way). Restarts back off from 1 s to 30 s and start
# over at 1 s once the command has run for a minute. SIGTERM/SIGINT stop the command too.
set -u
child=0
stopping=0
stop() {
  stopping=1
  if [ "$child" -gt 0 ]; then kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; fi
  exit 0
}
trap stop TERM INT HUP
delay=1
while [ "$stopping" = 0 ]; do
  started=$(date +%s)
  "$@" &
  child=$!
  wait "$child"
  code=$?
  child=0
  if [ $(( $(date +%s) - started )) -ge 60 ]; then delay=1; fi
  echo "supervise: '$*' exited with status $code; starting it again in ${delay}s" >&2
  sleep "$delay" &
  wait $!
  delay=$(( delay * 2 > 30 ? 30 : delay * 2 ))
done
