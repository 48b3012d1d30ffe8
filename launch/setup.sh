#!/usr/bin/env bash
# launch/setup.sh: install whatever dgcn needs that is missing (Debian packages) and build it.
# Safe to run again: it installs only what is missing and rebuilds only what changed.
#
#   launch/setup.sh                 release build in build/
#   launch/setup.sh --sanitize      also an ASan+UBSan build in build-asan/
#   launch/setup.sh --bench         also the benchmark reference (python3-torch)
#   launch/setup.sh --fuzz          also the libFuzzer targets in build-fuzz/ (clang, libFuzzer)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sanitize=0
bench=0
fuzz=0
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=1 ;;
    --bench) bench=1 ;;
    --fuzz) fuzz=1 ;;
    -h|--help) sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

packages=(build-essential cmake pkg-config libopenmpi-dev openmpi-bin libzmq3-dev libprotobuf-c-dev
          protobuf-c-compiler libopenblas-dev liblapacke-dev libmetis-dev check gnuplot-nox
          clang-format python3-numpy)
[ "$bench" = 1 ] && packages+=(python3-torch)
# libFuzzer's runtime (libclang_rt.fuzzer) is in libclang-rt-14-dev on Debian 12.
[ "$fuzz" = 1 ] && packages+=(clang libclang-rt-14-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

jobs="$(nproc 2>/dev/null || echo 2)"
build() { # build <dir> <cmake options...>
  local dir="$1"; shift
  cmake -S "$here" -B "$here/$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
  cmake --build "$here/$dir" -j "$jobs" >&2
}
build build
[ "$sanitize" = 1 ] && build build-asan -DDGCN_SANITIZE=ON -DDGCN_BUILD_BENCH=OFF
if [ "$fuzz" = 1 ]; then # only the fuzz targets and the libraries they need; no MPI
  cmake -S "$here" -B "$here/build-fuzz" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang \
    -DDGCN_FUZZ=ON -DDGCN_BUILD_TESTS=OFF -DDGCN_BUILD_BENCH=OFF -DDGCN_WITH_MPI=OFF >/dev/null
  cmake --build "$here/build-fuzz" -j "$jobs" --target fuzz_all >&2
  echo "setup: built the fuzz targets in $here/build-fuzz/tests/fuzz" >&2
fi
echo "setup: built $here/build/coordinator/dgcn" >&2
