#!/usr/bin/env bash
# Cost of the plate stage on the shared fixtures, old (ppocrv4-det) against new
# (pixla-plate), measured in one run: `pixla redact` of every shared fixture image with each
# plate model and with `--plate-model none`, interleaved, RUNS times; the plate stage is a
# model's wall time minus that of `none`. Run on an otherwise idle machine:
#   benches/plate_stage.sh [RUNS] [THREADS]
set -euo pipefail
runs=${1:-3}; threads=${2:-2}
root="$(cd "$(dirname "$0")/.." && pwd)"
pixla="${PIXLA:-$root/target/release/pixla}"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/in"
find "$root/../shared/fixtures" -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' -o -iname '*.tif' \) -exec cp {} "$work/in/" \;
echo "$(ls "$work/in" | wc -l) images, $threads threads, $runs runs"
declare -A total
for i in $(seq "$runs"); do
  for m in none ppocrv4-det pixla-plate; do
    rm -rf "$work/out"
    s=$(date +%s.%N)
    "$pixla" redact "$work/in" -o "$work/out" --quiet -j "$threads" --plate-model "$m" || true
    e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc)
    total[$m]=$(echo "${total[$m]:-0} + $t" | bc)
    echo "run $i $m: $t s"
  done
done
n=$(echo "${total[none]} / $runs" | bc -l)
old=$(echo "${total[ppocrv4-det]} / $runs - $n" | bc -l)
new=$(echo "${total[pixla-plate]} / $runs - $n" | bc -l)
printf 'mean wall: none %.2f s; plate stage: ppocrv4-det %.2f s, pixla-plate %.2f s; new / old = %.2f\n' "$n" "$old" "$new" "$(echo "$new / $old" | bc -l)"
