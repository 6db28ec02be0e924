#!/usr/bin/env bash
# pixla vs SAHI on the same images, model, tiles, thresholds and threads (see sahi_compare.py).
# Usage: benches/sahi_compare.sh [THREADS] [IMAGES...]   (default: all cores, ../shared/fixtures)
# Makes target/bench/sahi-venv (sahi==0.12.8 + onnxruntime==1.31.1 from PyPI, ~25 s, once),
# builds pixla (release) and needs `pixla models fetch` to have run. Writes
# target/bench/sahi-compare.json.
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-$(nproc)}"; shift || true
images=("$@"); [ ${#images[@]} -gt 0 ] || images=(../shared/fixtures)
venv=target/bench/sahi-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import sahi, onnxruntime" 2>/dev/null; then
  mkdir -p target/bench
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check sahi==0.12.8 onnxruntime==1.31.1
fi
cargo build --release --quiet
models="${PIXLA_MODELS_DIR:-${PIXLA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/pixla}/models}"
exec "$venv/bin/python" benches/sahi_compare.py --pixla target/release/pixla --model "$models/nanodet-m.onnx" \
  --threads "$threads" --json target/bench/sahi-compare.json "${images[@]}"
