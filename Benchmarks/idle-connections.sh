#!/usr/bin/env bash
# Benchmark: COUNT (20,200) idle TCP connections that never send a byte, from two client
# processes, against `scepops serve` (release) with its defaults; how long `/healthz` takes
# to answer while they are open, and how many the server closed for idling. Everything on
# 127.0.0.1; the flood ends by itself after HOLD seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-20200}
HOLD=${HOLD:-90}
IDLE=${IDLE:-60}

ci/install-deps
swift build -c release --product scepops >&2
scepops="$PWD/.build/release/scepops"

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
set -a; . examples/basic/example.env; set +a
"$scepops" apply --auto-approve --offline --repo examples/basic --db "$work/state.db" >/dev/null 2>&1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$scepops" serve --db "$work/state.db" --listen "127.0.0.1:$port" --idle-timeout "$IDLE" >"$work/serve.log" 2>&1 &
pids+=($!)
serve_pid=$!
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
half=$((COUNT / 2))
python3 Benchmarks/idle-flood.py "$port" "$half" "$HOLD" >"$work/flood1.log" &
pids+=($!)
python3 Benchmarks/idle-flood.py "$port" "$((COUNT - half))" "$HOLD" >"$work/flood2.log" &
pids+=($!)
sleep 25
started=$(date +%s.%N)
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time "$HOLD" "http://127.0.0.1:$port/healthz" || true)
ended=$(date +%s.%N)
wait "${pids[1]}" "${pids[2]}" || true
fds=$(ls /proc/"$serve_pid"/fd 2>/dev/null | wc -l)
echo "idle connections: $COUNT; serve --idle-timeout $IDLE, default --max-connections"
echo "/healthz during the flood: HTTP $status after $(awk -v a="$started" -v b="$ended" 'BEGIN {printf "%.1f", b - a}') s"
cat "$work/flood1.log" "$work/flood2.log"
grep -c "" "$work/serve.log" | xargs echo "serve log lines:"
echo "serve's open descriptors after the flood: $fds"
