#!/bin/bash
# Installs the build into a scratch prefix and builds the consumer project against it, once
# with find_package(vstore) and once with pkg-config.
# Usage: run.sh BUILD_DIR CONSUMER_SOURCE_DIR
set -eu
BUILD=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cmake --install "$BUILD" --prefix "$T/prefix" >/dev/null
# The IDX reader of the tools and tests is not the library's: neither its header nor zlib ships.
if find "$T/prefix" -name idx_file.h | grep -q .; then
  echo "install consumer: idx_file.h was installed" >&2
  exit 1
fi
LIB=$(find "$T/prefix" -name 'libvstore.so.*.*' | head -1)
if readelf -d "$LIB" | grep NEEDED | grep -q 'libz\.so'; then
  echo "install consumer: $LIB needs zlib" >&2
  exit 1
fi
cmake -S "$SRC" -B "$T/build" -DCMAKE_PREFIX_PATH="$T/prefix" >/dev/null
cmake --build "$T/build" >/dev/null
"$T/build/consumer" "$T"

PC_DIR=$(dirname "$(find "$T/prefix" -name vstore.pc)")
export PKG_CONFIG_PATH="$PC_DIR"
# shellcheck disable=SC2046
g++ -o "$T/consumer-pc" "$SRC/consumer.cpp" $(pkg-config --cflags --libs vstore)
LD_LIBRARY_PATH=$(pkg-config --variable=libdir vstore) "$T/consumer-pc" "$T"
echo "install consumer: find_package and pkg-config builds ran"
