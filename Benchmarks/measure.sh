# Sourced by the benchmarks. `measure COMMAND [BEFORE]` runs COMMAND $RUNS times (BEFORE
# before each) and prints the median wall time in ms and the largest max RSS in KiB.
# The time is taken around GNU time (whose own count is in 10 ms steps), to the millisecond.
# Needs $work, a scratch folder.
measure() {
  local times=() peak=0 rss start end
  for _ in $(seq "$RUNS"); do
    [ -z "${2:-}" ] || bash -c "$2"
    start=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$work/time" bash -c "$1 >/dev/null 2>&1" || true
    end=$(date +%s%N)
    times+=("$(((end - start) / 1000000))")
    rss=$(tail -1 "$work/time")
    [ "$rss" -gt "$peak" ] && peak=$rss
  done
  echo "$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') $peak"
}
