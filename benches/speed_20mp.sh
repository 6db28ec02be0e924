#!/usr/bin/env bash
# Wall time of `pixla redact` on a 20 MP drone frame, at the defaults and with `--detector
# nanodet-m`, with the stage counters (`--timings`). Run on an otherwise idle machine:
#   benches/speed_20mp.sh FRAME.jpg [RUNS]
# FRAME: a 5472x3648 JPEG. The figures in models/pixla-aerial.md used the 9 MP DJI fixture
# upscaled (bicubic, quality 92), e.g. `convert storyweb_DJI_0002.JPG -resize 5472x3648! f.jpg`.
set -euo pipefail
frame=$1; runs=${2:-3}
root="$(cd "$(dirname "$0")/.." && pwd)"
pixla="${PIXLA:-$root/target/release/pixla}"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/in"
cp "$frame" "$work/in/"
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
