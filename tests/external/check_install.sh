#!/usr/bin/env bash
# Installs the build tree BUILD_DIR into a fresh prefix, builds tests/external against it with
# find_package(portaquant) and with pkg-config, and runs the example from both builds.
#   tests/external/check_install.sh BUILD_DIR [WORK_DIR]
set -euo pipefail
build_dir=$(cd "$1" && pwd)
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
work=${2:-$(mktemp -d)}
prefix="$work/prefix"
mkdir -p "$work"
rm -rf "$work/prefix" "$work/consumer" "$work/pkgconfig-build"
cmake --install "$build_dir" --prefix "$prefix" > "$work/install.log"
echo "installed: $(find "$prefix" -type f | wc -l) files, $(du -sh "$prefix" | cut -f1) in $prefix"
test -x "$prefix/bin/portaquant"
test -f "$prefix/lib/cmake/portaquant/portaquantConfig.cmake"
test -f "$prefix/lib/pkgconfig/portaquant.pc"
test -f "$prefix/share/doc/portaquant/LICENSE"
# Backend-internal headers stay out of the prefix.
if find "$prefix/include" -path '*runtime/opencl*' -o -path '*runtime/vulkan*' -o -path '*runtime/ops*' | grep -q .; then
  echo "backend-internal headers were installed" >&2
  exit 1
fi

cmake -S "$source_dir/tests/external" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release > "$work/consumer.log"
cmake --build "$work/consumer" -j "${JOBS:-2}" >> "$work/consumer.log"
"$work/consumer/quantize_digits" "$source_dir/examples/models/digits_mlp" "$source_dir/examples/data" cpu

mkdir -p "$work/pkgconfig-build"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
# shellcheck disable=SC2046
"${CXX:-c++}" -O1 -DPORTAQUANT_EXAMPLES_DIR="\"$source_dir/examples\"" "$source_dir/examples/quantize_digits.cpp" \
    -o "$work/pkgconfig-build/quantize_digits" $(pkg-config --cflags --libs portaquant)
"$work/pkgconfig-build/quantize_digits" "$source_dir/examples/models/digits_mlp" "$source_dir/examples/data" cpu
"$prefix/bin/portaquant" --version | head -1
echo "external project: find_package(portaquant) and pkg-config builds ran"
