#!/usr/bin/env bash
# Benchmark: HOSTS (2,000) simulated Macs enrol through `scepops serve` and get one Wi-Fi
# profile each, whose SCEP payload runs through the proxy to a real scepserver. Reports the
# time until every host profile is verified, enrolments per second, and the SCEP part
# against the same number of enrolments with the same client straight at the scepserver.
# Release builds; the scepservers take one PKIOperation at a time (they fail concurrent
# ones), through the proxy's gate and the direct client's alike.
set -euo pipefail
cd "$(dirname "$0")/.."
HOSTS=${HOSTS:-2000}
CONCURRENCY=${CONCURRENCY:-16}

ci/install-deps
swift build -c release --product scepops >&2
swift build -c release --product scepops-devsim >&2
swift build -c release --product scepops-scep-bench >&2
bin="$PWD/.build/release"
root=$PWD

work=$(mktemp -d)
serve_pid=""
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  "$root/ci/scepserver" stop "$work"
  rm -rf "$work"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

set -a
. examples/basic/example.env
set +a
export SCEPOPS_IDENTITY_CHALLENGE=bench-identity-challenge
export SCEPOPS_SECRET_KEY=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
export SCEPOPS_ENROLL_SECRET=$WORKSTATIONS_ENROLL_SECRET
ca_port=$(port); identity_port=$(port); direct_port=$(port); serve_port=$(port)
ci/scepserver start "$work" "$ca_port" "$WIFI_SCEP_CHALLENGE"
ci/scepserver start "$work" "$identity_port" "$SCEPOPS_IDENTITY_CHALLENGE"
ci/scepserver start "$work" "$direct_port" "$WIFI_SCEP_CHALLENGE"

# examples/basic with one profile for Workstations: the Wi-Fi one, at the CA above.
cp -r examples/basic "$work/repo"
sed -i "s|http://127.0.0.1:2017/scep|http://127.0.0.1:$ca_port/scep|" "$work/repo/certificate_authorities/wifi.yml"
printf 'name: Workstations\nenroll_secret: ${WORKSTATIONS_ENROLL_SECRET}\nprofiles:\n  - profiles/wifi.mobileconfig\n' \
  >"$work/repo/teams/workstations.yml"
rm "$work/repo/profiles/seed-sample.mobileconfig"
cd "$work"
"$bin/scepops" apply --repo repo --offline --auto-approve >/dev/null

"$bin/scepops" serve --listen "127.0.0.1:$serve_port" --device-ca "depot-$identity_port/ca.pem" \
  --verify-interval 10 >serve.log 2>&1 &
serve_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$serve_port/healthz" >/dev/null && break; sleep 0.1; done
"$bin/scepops" enrollment-profile --team Workstations --server-url "http://127.0.0.1:$serve_port" \
  --identity-scep-url "http://127.0.0.1:$identity_port/scep" >enroll.mobileconfig

verified() {
  "$bin/scepops" status --format json | python3 -c 'import json, sys; print(json.load(sys.stdin)["host_profiles"]["verified"])'
}
start=$(date +%s.%N)
"$bin/scepops-devsim" --enrollment-profile enroll.mobileconfig --hosts "$HOSTS" --concurrency "$CONCURRENCY" \
  --settle 12 --poll-interval 5 --timeout 3600 --json >devsim.json &
devsim_pid=$!
until [ "$(verified)" -ge "$HOSTS" ]; do
  kill -0 "$devsim_pid" 2>/dev/null || break
  sleep 1
done
all_verified=$(python3 -c "import time; print(round(time.time() - $start, 1))")
wait "$devsim_pid" || true
echo "devsim summary:"
cat devsim.json
echo "verified host profiles: $(verified) of $HOSTS, all verified after ${all_verified} s"
echo "direct (same client, straight at a scepserver, $HOSTS enrolments, $CONCURRENCY at a time):"
"$bin/scepops-scep-bench" "http://127.0.0.1:$direct_port/scep" "$WIFI_SCEP_CHALLENGE" "$HOSTS" "$CONCURRENCY" 1 | tee direct.json
python3 - <<'PY'
import json
devsim = json.load(open("devsim.json"))
direct = json.load(open("direct.json"))
print(f"SCEP part: through the proxy {devsim['scep_exchanges']} exchanges in {devsim['scep_window_ms']/1000:.1f} s "
      f"(p50 {devsim['scep_p50_ms']:.0f} ms); direct {direct['count'] - direct['failures']} in {direct['wall_ms']/1000:.1f} s "
      f"(p50 {direct['p50_ms']:.0f} ms); ratio {devsim['scep_window_ms'] / direct['wall_ms']:.2f}")
PY
