#!/usr/bin/env bash
# Benchmark: remote plan against local plan on the same state. The generated repo of 1,000
# CAs, 200 teams and 10,000 profiles is applied to a state; then `plan --offline` runs
# locally on that state, and in remote mode against a `scepops serve --admin-listen` on it,
# over TLS on loopback (the CLI, the server and the state share the machine). Prints the
# median wall times of RUNS runs, the peak memory of each client, and remote / local.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}

ci/install-deps
swift build -c release --static-swift-stdlib --build-path .build/release-static --product scepops >&2
scepops="$PWD/.build/release-static/release/scepops"

work=$(mktemp -d)
serve_pid=""
trap '[ -z "$serve_pid" ] || kill "$serve_pid"; rm -rf "$work"' EXIT
python3 Benchmarks/generate-repo.py "$work/repo"
set -a; . "$work/repo.env"; set +a
export SCEPOPS_SECRET_KEY=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')

. Benchmarks/measure.sh

db="$work/state.db"
"$scepops" apply --offline --auto-approve --repo "$work/repo" --ref HEAD --db "$db" >/dev/null
# One changed profile, so that both plans have a change to render.
sed -i 's/<string>RSA<\/string>/<string>RSA<\/string><!-- edited -->/' "$work/repo/profiles/team_000/p00000.mobileconfig"
sed -i 's/ profile 0</ profile 0 (edited)</' "$work/repo/profiles/team_000/p00000.mobileconfig"
git -C "$work/repo" -c user.name=bench -c user.email=bench@example.invalid commit -qam "edit one profile"

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/admin.key" -out "$work/admin.pem" -days 2 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
admin=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
device=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$scepops" serve --db "$db" --listen "127.0.0.1:$device" --admin-listen "127.0.0.1:$admin" \
  --tls-cert "$work/admin.pem" --tls-key "$work/admin.key" > "$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 100); do curl -sf --cacert "$work/admin.pem" "https://127.0.0.1:$device/healthz" >/dev/null && break; sleep 0.1; done
token=$("$scepops" token create --name bench --role plan --db "$db")

local_plan="'$scepops' plan --offline --repo '$work/repo' --ref HEAD --db '$db'"
remote_plan="env SCEPOPS_SERVER=https://127.0.0.1:$admin SCEPOPS_SERVER_CA='$work/admin.pem' SCEPOPS_TOKEN=$token SCEPOPS_SECRET_KEY= '$scepops' plan --offline --repo '$work/repo' --ref HEAD"
diff <(bash -c "$local_plan" 2>&1) <(bash -c "$remote_plan" 2>&1) >/dev/null || { echo "remote and local plans differ" >&2; exit 1; }
read -r local_ms local_kib < <(measure "$local_plan")
read -r remote_ms remote_kib < <(measure "$remote_plan")

echo "repo: 1000 CAs, 200 teams, 10000 profiles, one profile changed; median of $RUNS runs"
printf '%-60s %6s ms %8s MiB\n' "plan --offline, local (the state on this disk)" "$local_ms" "$((local_kib / 1024))"
printf '%-60s %6s ms %8s MiB\n' "plan --offline, remote (admin API over TLS on loopback)" "$remote_ms" "$((remote_kib / 1024))"
awk -v r="$remote_ms" -v l="$local_ms" 'BEGIN {printf "remote / local: %.2fx (goal: 1.3x at most)\n", (l > 0 ? r / l : 0)}'
