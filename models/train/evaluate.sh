#!/usr/bin/env bash
# Step 4: score an exported model with `pixla eval` on the validation sets: the nadir and
# terrain fixtures (../shared/fixtures, labels in fixtures/labels), and a held-out split of
# the prepared data written as YOLO labels by yolo_split.py.
#   models/train/evaluate.sh MODEL.onnx DATA [SPLIT]   (SPLIT: val, the default, or test)
set -euo pipefail
model=$1; data=$2; split=${3:-val}
root="$(cd "$(dirname "$0")/../.." && pwd)"
pixla="${PIXLA:-$root/target/release/pixla}"
user=(--model "$model" --model-format yolov8 --classes person=0,car=1)
work=$(mktemp -d)
mkdir -p "$work/fixtures"
for f in "$root"/../shared/fixtures/aerial-nadir/*.png "$root"/../shared/fixtures/annotations/sahi_terrain1.jpg "$root"/../shared/fixtures/annotations/sahi_terrain2.png; do
  ln -s "$f" "$work/fixtures/"
done
echo "== shared fixtures (nadir + terrain), NanoDet default"; "$pixla" eval "$work/fixtures" "$root/fixtures/labels"
echo "== shared fixtures (nadir + terrain), $model"; "$pixla" eval "$work/fixtures" "$root/fixtures/labels" "${user[@]}"
python3 "$(dirname "$0")/yolo_split.py" --data "$data" --split "$split" --out "$work/split"
for src in "$work"/split/*/; do
  s=$(basename "$src")
  echo "== $s/$split, $model"; "$pixla" eval "$src/images" "$src/labels" "${user[@]}"
done
rm -rf "$work"
