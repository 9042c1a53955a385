#!/usr/bin/env bash
# Set up and run the default sweep: install Debian packages, build, run configs/quick.toml
# (on the GPU where a variant has a CUDA implementation and a GPU is present, else on the CPU).
# Usage: scripts/quickstart.sh [extra `seabench run` arguments, e.g. -o my.csv]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/bin/seabench run configs/quick.toml "$@"
