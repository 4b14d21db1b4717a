#!/usr/bin/env bash
# Benchmark: `scepops plan --offline` on the generated repo of 1,000 CAs, 200 teams and
# 10,000 profiles against a state that holds all of it and 100,000 hosts; and the first
# apply of that whole repo into an empty state. Prints median wall times of RUNS runs
# and the peak memory (max RSS) of each.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
HOSTS=${HOSTS:-100000}

ci/install-deps
swift build -c release --product scepops >&2
scepops="$PWD/.build/release/scepops"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 Benchmarks/generate-repo.py "$work/repo"
set -a; . "$work/repo.env"; set +a
export SCEPOPS_SECRET_KEY=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')

. Benchmarks/measure.sh

db="$work/state.db"
apply="'$scepops' apply --offline --auto-approve --repo '$work/repo' --ref HEAD --db '$db'"
read -r apply_ms apply_kib < <(measure "$apply" "rm -f '$db' '$db-wal' '$db-shm'")
rm -f "$db" "$db-wal" "$db-shm"
bash -c "$apply" >/dev/null

# The server enrolls hosts; here they are written straight into the state.
python3 - "$db" "$HOSTS" <<'PY'
import sqlite3, sys
db, hosts = sys.argv[1], int(sys.argv[2])
connection = sqlite3.connect(db)
teams = [row[0] for row in connection.execute("SELECT name FROM team ORDER BY name")]
connection.executemany(
    "INSERT INTO host (uuid, serial, team, enrolled_at) VALUES (?, ?, ?, '2026-01-01T00:00:00Z')",
    (("HOST-%06d" % i, "SERIAL%06d" % i, teams[i % len(teams)]) for i in range(hosts)))
connection.commit()
PY

plan="'$scepops' plan --offline --repo '$work/repo' --ref HEAD --db '$db'"
read -r plan_ms plan_kib < <(measure "$plan")
# Every challenge rotated: 1,000 CA updates, each counting the hosts it re-delivers to.
rotated="env $(seq -f 'CA_%04g_CHALLENGE=rotated' 0 999 | tr '\n' ' ') $plan"
read -r rotated_ms rotated_kib < <(measure "$rotated")

echo "repo: 1000 CAs, 200 teams, 10000 profiles; state: the same plus $HOSTS hosts; median of $RUNS runs"
printf '%-60s %8s %12s\n' "command" "time" "peak RSS"
printf '%-60s %6s ms %8s MiB\n' "plan --offline (no changes, $HOSTS hosts)" "$plan_ms" "$((plan_kib / 1024))"
printf '%-60s %6s ms %8s MiB\n' "plan --offline (every challenge rotated, $HOSTS hosts)" "$rotated_ms" "$((rotated_kib / 1024))"
printf '%-60s %6s ms %8s MiB\n' "first apply --offline of the whole repo (empty state)" "$apply_ms" "$((apply_kib / 1024))"
awk -v a="$apply_ms" -v p="$plan_ms" 'BEGIN {printf "first apply / plan: %.1fx\n", (p > 0 ? a / p : 0)}'
