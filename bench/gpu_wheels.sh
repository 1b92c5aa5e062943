#!/usr/bin/env bash
# Downloads, here, the wheels bench/gpu_suite.sh needs on a GPU machine that has torch 2.11 on Python 3.12 but
# no network: the packages that machine lacks (fair-esm; biopython for the training steps).
#   bench/gpu_wheels.sh [DIR]   (default .whl, which git ignores)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-.whl}
mkdir -p "$dir"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d "$dir" fair-esm==2.0.0 biopython==1.88
ls "$dir"
