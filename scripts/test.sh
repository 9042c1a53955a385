#!/usr/bin/env bash
# Set up and run the tests: install Debian packages, build, run every test with CTest.
# GPU tests report "Skipped" on machines without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
