#!/usr/bin/env bash
# Three `scepops serve` replicas on one PostgreSQL state ($SCEPOPS_DB, $SCEPOPS_SECRET_KEY)
# behind nginx with nginx.conf, all on loopback. Ctrl-C stops them all, by pid.
set -euo pipefail
: "${SCEPOPS_DB:?set SCEPOPS_DB to the postgres:// URL of the state}"
: "${SCEPOPS_SECRET_KEY:?set SCEPOPS_SECRET_KEY: every replica needs the same key}"
here=$(cd "$(dirname "$0")" && pwd)
scepops=${SCEPOPS:-scepops}
device_ca=()
[ -n "${DEVICE_CA:-}" ] && device_ca=(--device-ca "$DEVICE_CA")

pids=()
stop() { kill "${pids[@]}" 2>/dev/null || true; wait || true; }
trap stop EXIT INT TERM

for port in 8081 8082 8083; do
  "$scepops" serve --listen "127.0.0.1:$port" --server-url http://127.0.0.1:8080 "${device_ca[@]}" \
    > "$here/serve-$port.log" 2>&1 &
  pids+=($!)
done
nginx -p "$here/" -c nginx.conf -e error.log -g 'daemon off;' &
pids+=($!)
echo "run.sh: nginx on http://127.0.0.1:8080 in front of 127.0.0.1:8081-8083 (logs in $here)" >&2
wait -n
