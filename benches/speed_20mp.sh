#!/usr/bin/env bash
# Wall time of `pixla redact` on a 20 MP drone frame (5472x3648, made here from the real 9 MP
# DJI fixture by upscaling), at the defaults and with `--detector nanodet-m`, with the stage
# counters (`--timings`): ms per tile for each model. Run on an otherwise idle machine:
#   benches/speed_20mp.sh [RUNS]
set -euo pipefail
runs=${1:-3}
root="$(cd "$(dirname "$0")/.." && pwd)"
pixla="${PIXLA:-$root/target/release/pixla}"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/in"
convert "$root/../shared/fixtures/metadata/storyweb_DJI_0002.JPG" -filter Catrom -resize '5472x3648!' -quality 92 "$work/in/frame20mp.jpg"
for det in pixla-aerial nanodet-m; do
  for i in $(seq "$runs"); do
    rm -rf "$work/out"
    s=$(date +%s.%N)
    "$pixla" redact "$work/in" -o "$work/out" --quiet --detector "$det" --timings 2> "$work/t.txt" || true
    e=$(date +%s.%N)
    echo "$det run $i: $(echo "$e - $s" | bc) s wall"
  done
  cat "$work/t.txt"
done
