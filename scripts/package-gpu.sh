#!/usr/bin/env bash
# Builds the binaries for the GPU machine on a development machine and collects them in a dist/
# folder (measurement.md §10; docs/gpu.md): static cudart, header-only fmt, RUNPATH $ORIGIN and
# $ORIGIN/lib, and the libraries the GPU machine lacks (libbenchmark.so.1debian,
# libtomlplusplus.so.3) in bin/lib. cuBLAS, OpenBLAS and the driver come from the GPU machine.
# Usage: scripts/package-gpu.sh [DIST_DIR]      (default: build-dist/dist, inside the ignored build dir)
#   environment: BUILD_DIR (default build-dist/), JOBS (default 1),
#                CUDA_ARCHITECTURES (default: the project's, 90)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-dist}
DIST=${1:-$BUILD/dist}
JOBS=${JOBS:-1}

args=(-DCMAKE_BUILD_TYPE=Release -DSEABENCH_ENABLE_CUDA=ON '-DCMAKE_BUILD_RPATH=$ORIGIN;$ORIGIN/lib')
if [ -n "${CUDA_ARCHITECTURES:-}" ]; then args+=("-DCMAKE_CUDA_ARCHITECTURES=$CUDA_ARCHITECTURES"); fi
if [ ! -f "$BUILD/CMakeCache.txt" ] && command -v ninja >/dev/null; then args+=(-G Ninja); fi
mkdir -p "$BUILD"
cmake -S "$ROOT" -B "$BUILD" "${args[@]}" | tee "$BUILD/package-configure.log"
if ! grep -q "seabench: CUDA device path ON" "$BUILD/package-configure.log"; then
  echo "package-gpu: CUDA is off in this build (nvcc not found?); the GPU machine needs a CUDA build" >&2
  exit 1
fi
cmake --build "$BUILD" -j "$JOBS"

rm -rf "$DIST"
mkdir -p "$DIST/bin/lib" "$DIST/configs" "$DIST/scripts" "$DIST/docs"
cp "$BUILD/bin/seabench" "$BUILD/bin/seabench_microbench" "$BUILD/seabench_tests" "$DIST/bin/"
# Stand-alone CUDA workbenches (a variant's dev/ folder builds one as bin/<name>_workbench).
for b in "$BUILD"/bin/*_workbench; do [ -x "$b" ] && cp "$b" "$DIST/bin/"; done
# Shared libraries the GPU machine lacks (measurement.md §9): Google Benchmark 1.7 (it has 1.8.3,
# another soname) and toml++ (not installed there). Copied from where this build resolved them.
for soname in libbenchmark.so.1debian libtomlplusplus.so.3; do
  path=$(ldd "$DIST/bin/seabench_microbench" "$DIST/bin/seabench" | awk -v s="$soname" '$1 == s { print $3; exit }')
  [ -n "$path" ] || { echo "package-gpu: cannot resolve $soname" >&2; exit 1; }
  cp -L "$path" "$DIST/bin/lib/$soname"
done
cp -r "$ROOT"/configs/. "$DIST/configs/"
cp "$ROOT/scripts/gpu-check.sh" "$DIST/scripts/"
if [ -d "$ROOT/scripts/gpu-check.d" ]; then cp -r "$ROOT/scripts/gpu-check.d" "$DIST/scripts/"; fi
cp "$ROOT/docs/gpu.md" "$DIST/docs/"
{
  echo "commit: $(git -C "$ROOT" rev-parse HEAD)$(git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || echo ' (dirty)')"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
  echo "nvcc: $(nvcc --version 2>/dev/null | tail -n 1)"
  echo "compiler: $(c++ --version | head -n 1)"
} > "$DIST/BUILD_INFO"

# Every binary must find bin/lib through its RUNPATH, and need nothing beyond bin/lib and what the
# GPU machine provides (glibc, libstdc++, OpenBLAS, cuBLAS; measurement.md §9).
provided=" libc.so.6 libm.so.6 libstdc++.so.6 libgcc_s.so.1 ld-linux-x86-64.so.2 libopenblas.so.0 libcublas.so.13 libcusparse.so.12 libcudnn.so.9 "
for b in "$DIST"/bin/*; do
  [ -f "$b" ] || continue
  runpath=$(readelf -d "$b" | sed -n 's/.*R\(UN\)\?PATH.*\[\(.*\)\]/\2/p')
  case ":$runpath:" in
    *':$ORIGIN/lib:'*) ;;
    *) echo "package-gpu: $b has RUNPATH '$runpath' without \$ORIGIN/lib" >&2; exit 1 ;;
  esac
  for needed in $(readelf -d "$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    if [[ "$provided" != *" $needed "* && ! -f "$DIST/bin/lib/$needed" ]]; then
      echo "package-gpu: $(basename "$b") needs $needed, which is neither shipped nor on the GPU machine" >&2
      exit 1
    fi
  done
done
du -sh "$DIST"
echo "package-gpu: $DIST is ready; on the GPU machine run: $(basename "$DIST")/scripts/gpu-check.sh OUTDIR"
