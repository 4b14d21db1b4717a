# Sourced by the benchmarks. `measure COMMAND [BEFORE]` runs COMMAND $RUNS times (BEFORE
# before each) and prints the median wall time in ms and the largest max RSS in KiB.
# Needs $work, a scratch folder.
measure() {
  local times=() peak=0 out rss
  for _ in $(seq "$RUNS"); do
    [ -z "${2:-}" ] || bash -c "$2"
    /usr/bin/time -f "%e %M" -o "$work/time" bash -c "$1 >/dev/null 2>&1" || true
    out=$(tail -1 "$work/time")
    times+=("$(awk '{printf "%d", $1 * 1000}' <<<"$out")")
    rss=$(awk '{print $2}' <<<"$out")
    [ "$rss" -gt "$peak" ] && peak=$rss
  done
  echo "$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') $peak"
}
