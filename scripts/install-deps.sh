#!/usr/bin/env bash
# Installs seabench's build and run dependencies from Debian 12's packages.
# Usage: scripts/install-deps.sh   (as root, or with sudo available)
set -euo pipefail
packages=(
  cmake ninja-build g++ git
  libfmt-dev catch2 libbenchmark-dev nlohmann-json3-dev libcli11-dev
  libtomlplusplus-dev libfccp-dev libopenblas-dev
  gnuplot-nox
)
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all packages present"
