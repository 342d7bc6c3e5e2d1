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
# Exactly the public API's headers are installed (the IDX reader of the tools and tests, the
# catalog and the graph and id files' codecs are the library's own), and each compiles alone
# against the installed tree.
HEADERS=$(cd "$T/prefix/include" && find . -name '*.h' | LC_ALL=C sort | tr '\n' ' ')
WANT="./vstore/consistency.h ./vstore/crash_leftovers.h ./vstore/format/error.h ./vstore/format/export.h ./vstore/format/kinds.h ./vstore/format/utf8.h ./vstore/format/vector_file_format.h ./vstore/lifecycle.h ./vstore/pack.h ./vstore/records.h ./vstore/search_many.h ./vstore/store.h ./vstore/vector_file.h ./vstore/verified_vectors.h "
if [ "$HEADERS" != "$WANT" ]; then
  echo "install consumer: installed headers: $HEADERS; expected: $WANT" >&2
  exit 1
fi
for h in $HEADERS; do
  echo "#include \"${h#./}\"" | g++ -std=c++20 -fsyntax-only -x c++ -I"$T/prefix/include" - ||
    { echo "install consumer: $h does not compile alone" >&2; exit 1; }
done
LIB=$(find "$T/prefix" -name 'libvstore.so.*.*' | head -1)
if readelf -d "$LIB" | grep NEEDED | grep -q 'libz\.so'; then
  echo "install consumer: $LIB needs zlib" >&2
  exit 1
fi
# The library exports the public API's symbols and no others (format/export.h): every symbol
# of namespace vstore it defines for the dynamic linker belongs to a class or function of the
# installed headers. (Instantiations of the standard library's templates are exported too, as
# libstdc++ declares them; they are no part of vstore's API.)
API='Store|Snapshot|CommitBuilder|SearchFilter|Pack|VectorFile|LoadedVec|Error|VerifiedVectors'
API+='|DroppedCommits|GcReport|default_pack_extraction_bound|error_code_name|pack_kind_for'
API+='|pack_kind_name|search_many|search_many_exact|sort_newest_first|format::VectorLayout'
API+='|format::decode_commit_slot|format::decode_header|format::encode_commit_slot'
API+='|format::encode_header_page|format::graph_kind_name|format::metric_from_name'
API+='|format::metric_name|format::vector_checksum|format::first_invalid_utf8'
EXPORTED=$(nm -D --defined-only -C "$LIB" | cut -d' ' -f3- | sed -E 's/^(typeinfo name for|typeinfo for|vtable for) //' | grep '^vstore::')
[ "$(echo "$EXPORTED" | grep -c '^vstore::Store::create')" -ge 1 ] ||
  { echo "install consumer: $LIB does not export vstore::Store::create" >&2; exit 1; }
OUTSIDE=$(echo "$EXPORTED" | grep -Ev "^vstore::($API)(::|\(|\[|$)" || true)
if [ -n "$OUTSIDE" ]; then
  echo "install consumer: $LIB exports symbols outside the public API:" >&2
  echo "$OUTSIDE" | head -20 >&2
  exit 1
fi
if echo "$EXPORTED" | grep -q '::Impl::'; then
  echo "install consumer: $LIB exports an Impl's members: $(echo "$EXPORTED" | grep '::Impl::' | head -3)" >&2
  exit 1
fi

# The SQLite extension, when built, is installed in the library directory and loads there,
# finding the installed libvstore beside it.
EXT=$(find "$T/prefix" -name vstore_sqlite.so | head -1)
if [ -n "$EXT" ] && command -v sqlite3 >/dev/null; then
  if ! ldd "$EXT" | grep 'libvstore\.so' | grep -q "$T/prefix/"; then
    echo "install consumer: $EXT does not find the installed libvstore: $(ldd "$EXT" | grep vstore)" >&2
    exit 1
  fi
  GOT=$(sqlite3 :memory: ".load ${EXT%.so}" "select hex(vstore_encode('[1]'))")
  if [ "$GOT" != 0000803F ]; then
    echo "install consumer: the installed SQLite extension does not load: $GOT" >&2
    exit 1
  fi
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
