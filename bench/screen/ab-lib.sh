# Sourced by the A/B scripts of this folder (ab.sh, ab-wl.sh, ab-margin.sh, ab-ci.sh):
# the timing of one run, medians and ratios, so that all four measure alike.
# The binaries and the bench data (as `bench/screen/run.sh` made them in WORK),
# read into the page cache first.
A=${A:?path of binary A}
B=${B:?path of binary B}
WORK=${WORK:-/tmp/liaison-screen-bench}
SUB=${SUB:-screen}
C=$WORK/corpus.txt; W=$WORK/watchlist.txt; I=$WORK/indicators.json
cat "$C" > /dev/null
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A WALL CPU RSS
# one NAME COMMAND...: run COMMAND once (its output discarded) and keep its wall time,
# CPU time (user + system) and peak RSS under NAME.
one() {
  local name=$1; shift
  local t; t=$(mktemp)
  /usr/bin/time -f "%e %U %S %M" -o "$t" "$@" > /dev/null 2>&1 || true
  read -r e u s m < <(tail -n 1 "$t"); rm -f "$t"
  local cpu; cpu=$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u+s}')
  WALL[$name]+="$e "; CPU[$name]+="$cpu "; RSS[$name]+="$((m / 1024)) "
  printf '%-8s wall %6s s  cpu %6s s (user %s sys %s)  peak RSS %4s MiB\n' "$name" "$e" "$cpu" "$u" "$s" "$((m / 1024))"
}
# The median of the numbers on standard input (separated by spaces or lines).
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
# A / B to two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a / b}'; }
