#!/usr/bin/env bash
# Sweep detection settings with `pixla eval` over the labelled fixtures and print a markdown
# table (settings -> recall, hit rate, coverage, precision, area redacted, time).
# One factor at a time around the defaults, plus a few combinations.
# Usage: benches/eval_sweep.sh [PIXLA_BINARY] [IMAGES] [LABELS]   (run it with `nice`)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$here/target/release/pixla}"
images="${2:-$here/../shared/fixtures}"
labels="${3:-$here/fixtures/labels}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
runs=(
  "defaults|"
  "tile 256|--tile 256"
  "tile 320|--tile 320"
  "tile 416|--tile 416"
  "tile 512|--tile 512"
  "tile 800|--tile 800"
  "tile 1024|--tile 1024"
  "overlap 0.1|--overlap 0.1"
  "overlap 0.3|--overlap 0.3"
  "no whole pass|--no-whole-pass"
  "person thr 0.2|--threshold person=0.2"
  "person thr 0.25|--threshold person=0.25"
  "person thr 0.4|--threshold person=0.4"
  "margin 0.05|--margin 0.05"
  "margin 0.25|--margin 0.25"
  "plate thr 0.3|--threshold plate=0.3"
  "plates: none|--plate-model none"
  "plates: platedet (AGPL)|--plate-model platedet"
  "tile 416 + person 0.2|--tile 416 --threshold person=0.2"
  "tile 800 + person 0.25|--tile 800 --threshold person=0.25"
  "tile 512 + overlap 0.3 + person 0.25|--tile 512 --overlap 0.3 --threshold person=0.25"
)
i=0
for r in "${runs[@]}"; do
  name="${r%%|*}"; flags="${r#*|}"
  # shellcheck disable=SC2086
  "$bin" eval "$images" "$labels" --json $flags >"$out/$i.json" 2>/dev/null || true
  echo "$name" >"$out/$i.name"
  echo "done: $name" >&2
  i=$((i + 1))
done
python3 - "$out" "$i" <<'PY'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
f = lambda v: "-" if v is None else f"{v:.3f}"
print("| settings | person recall | person hit | person coverage | person precision | person <16 px hit | plate recall | plate hit | plate coverage | plate precision | vehicle recall | area redacted | seconds |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for i in range(n):
    name = open(f"{d}/{i}.name").read().strip()
    try:
        v = json.load(open(f"{d}/{i}.json"))
    except Exception:
        print(f"| {name} | failed |"); continue
    s = v["summary"]; p = s.get("person", {}); q = s.get("plate", {}); c = s.get("vehicle", {})
    small = p.get("buckets", {}).get("<16", {})
    print(f"| {name} | {f(p.get('recall'))} | {f(p.get('hit_rate'))} | {f(p.get('coverage'))} | {f(p.get('precision'))} | {f(small.get('hit_rate'))} | {f(q.get('recall'))} | {f(q.get('hit_rate'))} | {f(q.get('coverage'))} | {f(q.get('precision'))} | {f(c.get('recall'))} | {v['area_redacted']*100:.2f} % | {v['seconds']:.1f} |")
PY
