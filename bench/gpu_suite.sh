#!/usr/bin/env bash
# The prepared GPU run: every GPU benchmark in one command that fits in 9 minutes on one H100/H200.
#   bench/gpu_suite.sh OUTDIR [WHEELS_DIR] [--smoke]
# WHEELS_DIR: wheels of the Python packages the GPU machine lacks (bench/gpu_wheels.sh downloads them:
# fair-esm, biopython), installed into a private directory first. --smoke: the same parts at a tiny size on
# the CPU (make test runs it). PYTHON picks the interpreter (default python3). Results: OUTDIR/gpu_suite.json,
# OUTDIR/gpu_suite.md, OUTDIR/profile_esm.txt, OUTDIR/profile_dnabert.txt (see bench/gpu_suite.py).
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: bench/gpu_suite.sh OUTDIR [WHEELS_DIR] [--smoke]"
out="" wheels="" smoke=()
for arg in "$@"; do
  case $arg in
    --smoke) smoke=(--smoke) ;;
    -*) echo "$usage" >&2; exit 2 ;;
    *) if [ -z "$out" ]; then out=$arg; elif [ -z "$wheels" ]; then wheels=$arg; else echo "$usage" >&2; exit 2; fi ;;
  esac
done
[ -n "$out" ] || { echo "$usage" >&2; exit 2; }
python=${PYTHON:-python3}
if [ -n "$wheels" ]; then
  shopt -s nullglob
  files=("$wheels"/*.whl)
  [ ${#files[@]} -gt 0 ] || { echo "gpu_suite: no wheels in $wheels" >&2; exit 2; }
  site=$(mktemp -d /tmp/virnucpro-site.XXXXXX)
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" "${files[@]}"
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
"$python" - <<'PY'
import importlib.util, sys
needed = ["torch", "numpy", "esm", "transformers", "tokenizers", "safetensors", "rich"]
missing = [name for name in needed if importlib.util.find_spec(name) is None]
if missing:
    sys.exit(f"gpu_suite: missing Python packages: {', '.join(missing)} (give a WHEELS_DIR; bench/gpu_wheels.sh makes one)")
PY
exec "$python" bench/gpu_suite.py "$out" "${smoke[@]}"
