#!/usr/bin/env bash
# Benchmark: `scepops validate --ref HEAD` on a generated repo of 1,000 CAs, 200 teams and
# 10,000 profiles, beside the floor for reading the same blobs (`git cat-file --batch`) and
# libgit2 reading them, header then blob, with nothing parsed (Benchmarks/libgit2-read.c; how
# scepops read them before it read the packs itself).
# Prints the median wall time of RUNS runs of each and scepops' peak memory (max RSS).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}

ci/install-deps
# The binary ci/release ships: the Swift runtime and Foundation linked in statically (it
# starts sooner and calls the runtime directly; a dynamic build takes about 10 % longer here).
swift build -c release --static-swift-stdlib --build-path .build/release-static --product scepops >&2
scepops="$PWD/.build/release-static/release/scepops"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 Benchmarks/generate-repo.py "$work/repo"
"$(command -v cc || command -v clang)" -O2 -o "$work/libgit2-read" Benchmarks/libgit2-read.c -lgit2
set -a; . "$work/repo.env"; set +a

files=$(git -C "$work/repo" ls-tree -r --name-only HEAD | wc -l)
bytes=$(git -C "$work/repo" ls-tree -r -l HEAD | awk '{s+=$4} END {print s}')

. Benchmarks/measure.sh

# The first run after generation warms the page cache for both.
"$scepops" validate --repo "$work/repo" --ref HEAD >/dev/null
status=0; "$scepops" validate --repo "$work/repo" --ref HEAD --format json > "$work/out.json" || status=$?
[ "$status" -eq 0 ] || { echo "validate failed on the generated repo" >&2; head -50 "$work/out.json" >&2; exit 1; }

read -r floor_ms floor_kib < <(measure "git -C '$work/repo' ls-tree -r --object-only HEAD | git -C '$work/repo' cat-file --batch")
read -r libgit2_ms libgit2_kib < <(measure "'$work/libgit2-read' '$work/repo'")
read -r ours_ms ours_kib < <(measure "'$scepops' validate --repo '$work/repo' --ref HEAD")
read -r tree_ms tree_kib < <(measure "'$scepops' validate --repo '$work/repo'")

ratio() { awk -v a="$1" -v b="$floor_ms" 'BEGIN {printf "%.1f", (b > 0 ? a / b : 0)}'; }
echo "repo: 1000 CAs, 200 teams, 10000 profiles; $files files, $bytes bytes; median of $RUNS runs"
printf '%-46s %8s %12s\n' "command" "time" "peak RSS"
printf '%-46s %6s ms %9s MiB\n' "git ls-tree | git cat-file --batch (floor)" "$floor_ms" "$((floor_kib / 1024))"
printf '%-46s %6s ms %9s MiB\n' "libgit2 reading them (header, blob), no parsing" "$libgit2_ms" "$((libgit2_kib / 1024))"
printf '%-46s %6s ms %9s MiB\n' "scepops validate --ref HEAD" "$ours_ms" "$((ours_kib / 1024))"
printf '%-46s %6s ms %9s MiB\n' "scepops validate (working tree)" "$tree_ms" "$((tree_kib / 1024))"
echo "libgit2 reading / floor: $(ratio "$libgit2_ms")x"
echo "validate --ref HEAD / floor: $(ratio "$ours_ms")x"
