#!/usr/bin/env bash
# Step 4: score pixla's detectors with `pixla eval` on the validation sets: the shared
# fixtures (nadir, terrain, street; labels in fixtures/labels) and a held-out split of the
# prepared data (yolo_split.py; HIT-UAV at camera angles of 60 degrees and more).
#   models/train/evaluate.sh DATA [SPLIT] [OUT] [-- extra pixla eval flags]
# SPLIT: val (the default) or test. Every run is done twice: at pixla's defaults (the
# built-in pixla-aerial with NanoDet) and with `--detector nanodet-m` (pixla before its own
# model). A candidate not yet built in is scored with `-- --model M.onnx --model-format
# yolov8 --classes person=0,car=1`. JSON results land in OUT, tables on stdout.
set -euo pipefail
data=$1; split=${2:-val}; out=${3:-$(mktemp -d)}
shift $(( $# < 3 ? $# : 3 )); [[ "${1:-}" == "--" ]] && shift
extra=("$@")
here="$(cd "$(dirname "$0")" && pwd)"; root="$(cd "$here/../.." && pwd)"
pixla="${PIXLA:-$root/target/release/pixla}"
mkdir -p "$out/fixtures"
# pixla eval walks a folder: copies, not links (pixla refuses symbolic links as input)
cp "$root"/../shared/fixtures/aerial-nadir/*.png "$out/fixtures/"
python3 "$here/yolo_split.py" --data "$data" --split "$split" --out "$out/split" --min-angle 60
run() { # name images labels
  for det in default nanodet-m; do
    flags=(); [[ $det == nanodet-m ]] && flags=(--detector nanodet-m)
    [[ $det == default && ${#extra[@]} -gt 0 ]] && flags=("${extra[@]}")
    "$pixla" eval "$2" "$3" --json "${flags[@]}" > "$out/$1.$det.json" || true
    echo "== $1, $det"; python3 "$here/eval_table.py" "$out/$1.$det.json"
  done
}
run nadir "$out/fixtures" "$root/fixtures/labels"
for src in "$out"/split/*/; do
  s=$(basename "$src"); run "$s-$split" "$src/images" "$src/labels"
done
echo "results: $out"
