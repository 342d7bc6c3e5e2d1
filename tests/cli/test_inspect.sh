#!/bin/bash
# CLI tests for `vstore inspect` on vector files, graph files and store directories: output,
# --json, --verify, exit statuses and one-line errors for foreign, truncated and corrupt input.
# Usage: test_inspect.sh VSTORE WALKTHROUGH MAKE_SMALL_STORE
set -u
VSTORE=$1
WALKTHROUGH=$2
MAKE_SMALL_STORE=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# A real vector file: the walkthrough writes Fashion-MNIST into one.
"$WALKTHROUGH" "$T/store" --vector-file-only >/dev/null || fail "walkthrough failed"
F="$T/store/fashion-mnist%2Ftrain.vecs"
[ -f "$F" ] || fail "walkthrough wrote no vector file"

expect 0 "$VSTORE" inspect "$F"
grep -q "^domain *fashion-mnist/train$" "$T/out" || fail "no domain line"
grep -q "^dimension *784 (3136 bytes a vector)$" "$T/out" || fail "no dimension line"
grep -q "^vectors *60000$" "$T/out" || fail "no vector count"
grep -q "40960 bytes (10 OS pages), 13 vectors, 192 bytes padding (0.47 % waste)" "$T/out" ||
    fail "no page layout line"

expect 0 "$VSTORE" inspect --verify "$F"
grep -q "^verify *ok: 4616 pages, 60000 vectors checked$" "$T/out" || fail "verify line: $(cat "$T/out")"

expect 0 "$VSTORE" inspect --verify --json "$F"
jq -e ".kind == \"vector file\" and .dimension == 784 and .count == 60000 and .page_bytes == 40960 and .vectors_per_page == 13 and .verify.ok == true and .verify.vectors_checked == 60000" "$T/out" >/dev/null || fail "json output: $(head -c 300 "$T/out")"

# Usage errors exit 2.
expect 2 "$VSTORE" inspect
expect 2 "$VSTORE" inspect --no-such-flag "$F"
expect 2 "$VSTORE"
expect 0 "$VSTORE" inspect --help
grep -q "Example" "$T/out" || fail "inspect --help has no example"

# Missing, foreign, directory.
expect 1 "$VSTORE" inspect "$T/missing.vecs"; one_line_error "does not exist"
printf 'hello world, not vstore' >"$T/foreign"
expect 1 "$VSTORE" inspect "$T/foreign"; one_line_error "not a vstore file"
expect 1 "$VSTORE" inspect "$T"; one_line_error "directory"

# A flipped byte in a vector: inspect still describes the file, --verify fails and names it.
cp "$F" "$T/flip.vecs"
# Vector 100 sits in group 0 (1014 vectors a group), page 7, slot 9.
off=$((4096 + 4096 + 7 * 40960 + 9 * 3136 + 5))
printf '\xff' | dd of="$T/flip.vecs" bs=1 seek=$off conv=notrunc status=none
expect 0 "$VSTORE" inspect "$T/flip.vecs"
expect 1 "$VSTORE" inspect --verify "$T/flip.vecs"
one_line_error "vector 100: fails its checksum"
grep -q "FAILED" "$T/out" || fail "verify output does not say FAILED"

# A flipped header byte and a truncated file: one-line errors, exit 1.
cp "$F" "$T/head.vecs"
printf '\x07' | dd of="$T/head.vecs" bs=1 seek=20 conv=notrunc status=none
expect 1 "$VSTORE" inspect "$T/head.vecs"; one_line_error "header checksum mismatch"
cp "$F" "$T/cut.vecs"
truncate -s 1000000 "$T/cut.vecs"
expect 1 "$VSTORE" inspect "$T/cut.vecs"; one_line_error "truncated"
truncate -s 100 "$T/cut.vecs"
expect 1 "$VSTORE" inspect --json "$T/cut.vecs"; one_line_error "truncated"

# ---- Stores ----------------------------------------------------------------------------------
# A small known store: domain d (dimension 8, l2, M 16); c1 = 300 vectors; c2 on c1 deletes 30,
# replaces 10 and inserts 50, so 320 live. Its vector file holds 300 + 10 + 50 = 360 vectors.
S="$T/small"
"$MAKE_SMALL_STORE" "$S" >/dev/null || fail "make_small_store failed"

expect 0 "$VSTORE" inspect "$S"
grep -q "^kind *store$" "$T/out" || fail "store: no kind line: $(cat "$T/out")"
grep -q "^domain *d$" "$T/out" || fail "store: no domain line"
grep -q "^dimension *8$" "$T/out" || fail "store: no dimension line"
grep -q "^metric *l2$" "$T/out" || fail "store: no metric line"
grep -q "^vector file *d.vecs (360 vectors)$" "$T/out" || fail "store: no vector file line"
grep -Eq '^ +c1 +- +[0-9T:Z-]+ +300 +0 +\+300 -0 ~0 +no +d@c1\.hnsw +[0-9]+$' "$T/out" ||
    fail "store: no row for c1: $(cat "$T/out")"
grep -Eq '^ +c2 +c1 +[0-9T:Z-]+ +320 +[0-9]+ +\+50 -30 ~10 +(no|yes) +d@c2\.hnsw +[0-9]+$' "$T/out" ||
    fail "store: no row for c2: $(cat "$T/out")"

expect 0 "$VSTORE" inspect --json "$S"
cp "$T/out" "$T/store.json"
jq_check '.kind == "store" and .domain_count == 1 and .commit_count == 2 and (has("verify") | not)
    and (.domains | length) == 1
    and (.domains[0] | .name == "d" and .dimension == 8 and .metric == "l2" and .m == 16
         and .ef_construction == 200 and .vector_file == "d.vecs" and .vectors == 360
         and ([.commits[].commit] == ["c1", "c2"]))
    and (.domains[0].commits[0] | .parent == null and .live == 300 and .tombstones == 0
         and .inserted == 300 and .deleted == 0 and .replaced == 0 and .graph_file == "d@c1.hnsw"
         and .graph_bytes > 0)
    and (.domains[0].commits[1] | .parent == "c1" and .live == 320 and .inserted == 50
         and .deleted == 30 and .replaced == 10 and .graph_file == "d@c2.hnsw"
         and (.compacted | type) == "boolean")' "$T/store.json" "store json"

expect 0 "$VSTORE" inspect --verify "$S"
grep -q "^verify *ok: 1 vector file (360 vectors) and 2 commits checked" "$T/out" ||
    fail "store verify line: $(cat "$T/out")"
expect 0 "$VSTORE" inspect --verify --json "$S"
jq_check '.verify.ok == true and .verify.commits_checked == 2 and .verify.vector_files_checked == 1
    and .verify.vectors_checked == 360 and .verify.problems == []' "$T/out" "store verify json"

# ---- Graph files -----------------------------------------------------------------------------
C2=$(jq -r '.domains[0].commits[] | select(.commit == "c2")' "$T/store.json")
G="$S/$(jq -r .graph_file <<<"$C2")"
[ -f "$G" ] || fail "store json names no graph file for c2: $G"

expect 0 "$VSTORE" inspect "$G"
grep -q "^kind *graph file (format version 1)$" "$T/out" || fail "graph: no kind line: $(cat "$T/out")"
grep -q "^domain *d$" "$T/out" || fail "graph: no domain line"
grep -q "^commit *c2$" "$T/out" || fail "graph: no commit line"
grep -q "^parent *c1$" "$T/out" || fail "graph: no parent line"
grep -q "^metric *l2$" "$T/out" || fail "graph: no metric line"
grep -q "^M *16 " "$T/out" || fail "graph: no M line"
grep -Eq "^nodes *[0-9]+: 320 live, [0-9]+ tombstoned" "$T/out" || fail "graph: no nodes line"
grep -Eq "^entry point *node [0-9]+ \(key [0-9]+\), level [0-9]+$" "$T/out" || fail "graph: no entry point"
grep -Eq "^  level 0 +[0-9]+ \([0-9.]+ %\)$" "$T/out" || fail "graph: no level histogram"
grep -Eq "^  layer 0 +[0-9]+ nodes: [0-9]+ / [0-9.]+ / [0-9]+, [0-9]+ without links$" "$T/out" ||
    fail "graph: no layer 0 degree line"
grep -Eq "^body *(zstd-compressed|raw)" "$T/out" || fail "graph: no body line"

expect 0 "$VSTORE" inspect --verify --json "$G"
jq -e --argjson c2 "$C2" '.kind == "graph file" and .format_version == 1 and .domain == "d"
    and .commit == "c2" and .parent == "c1" and .metric == "l2" and .dimension == 8 and .m == 16
    and .ef_construction == 200 and .vector_count == $c2.vector_count
    and .live == 320 and .tombstones == $c2.tombstones and .nodes == .live + .tombstones
    and (.level_histogram | add) == .live + .tombstones
    and (.level_histogram | length) == .max_level + 1
    and .entry_point.level == .max_level and .entry_point.ordinal < .nodes
    and (.degree | length) == .max_level + 1 and .degree[0].layer == 0
    and .degree[0].nodes == .nodes and .degree[0].max <= 2 * .m and .degree[0].min <= .degree[0].mean
    and all(.degree[1:][]; .max <= 16)
    and .file_bytes == $c2.graph_bytes and .file_checksum == $c2.graph_checksum
    and (.body_encoding == "zstd" or .body_encoding == "raw")
    and .verify.ok == true and .verify.links_checked == .links and .verify.problems == []' \
    "$T/out" >/dev/null || fail "graph json: $(head -c 600 "$T/out")"

expect 0 "$VSTORE" inspect --verify "$G"
grep -q "^verify *ok: every checksum and graph rule holds" "$T/out" || fail "graph verify line: $(cat "$T/out")"

# A first commit's graph has no parent.
expect 0 "$VSTORE" inspect "$S/d@c1.hnsw"
grep -q "^parent *none (a first commit)$" "$T/out" || fail "graph c1: no parent line"
grep -Eq "^nodes *300: 300 live, 0 tombstoned" "$T/out" || fail "graph c1: no nodes line"

# A graph file that decodes but that vstore never writes (a live node nothing links to, a
# neighbour listed twice): plain inspect describes it, --verify reports both problems.
"$MAKE_SMALL_STORE" --odd-graph "$T/odd.hnsw" || fail "make_small_store --odd-graph failed"
expect 0 "$VSTORE" inspect "$T/odd.hnsw"
expect 1 "$VSTORE" inspect --verify "$T/odd.hnsw"; one_line_error "in '$T/odd.hnsw' (and 1 more)"
grep -q "^  layer 0: 1 live node not reachable from the entry point (first: node 2)$" "$T/out" ||
    fail "odd graph: no reachability problem: $(cat "$T/out")"
grep -q "^  neighbour lists: 1 list with a node twice (first: node 1, layer 0)$" "$T/out" ||
    fail "odd graph: no duplicate problem: $(cat "$T/out")"
expect 1 "$VSTORE" inspect --verify --json "$T/odd.hnsw"
jq_check '.verify.ok == false and (.verify.problems | length) == 2' "$T/out" "odd graph json"

# A flipped byte in the middle of a graph file: one-line error naming the file, with or
# without --verify or --json, and nothing on stdout.
cp "$G" "$T/bad.hnsw"
flip_byte "$T/bad.hnsw" $(($(stat -c %s "$T/bad.hnsw") / 2))
expect 1 "$VSTORE" inspect "$T/bad.hnsw"; one_line_error "graph file '$T/bad.hnsw'"
expect 1 "$VSTORE" inspect --verify --json "$T/bad.hnsw"; one_line_error "checksum mismatch"
[ -s "$T/out" ] && fail "a corrupt graph file printed output: $(head -c 300 "$T/out")"
# A truncated graph file too.
head -c 100 "$G" >"$T/cut.hnsw"
expect 1 "$VSTORE" inspect "$T/cut.hnsw"; one_line_error "truncated"

# ---- Damaged stores --------------------------------------------------------------------------
# c2's graph file damaged: plain inspect only reads the catalog and the vector file's count,
# so it still describes the store; --verify loads every commit and names c2 (and only c2).
cp -r "$S" "$T/broken"
flip_byte "$T/broken/d@c2.hnsw" $(($(stat -c %s "$T/broken/d@c2.hnsw") / 2))
expect 0 "$VSTORE" inspect "$T/broken"
expect 1 "$VSTORE" inspect --verify "$T/broken"; one_line_error "commit 'c2'"
grep -q "^verify *FAILED: .*, 1 problem:$" "$T/out" || fail "broken store: no FAILED line: $(cat "$T/out")"
grep -q "^  domain 'd', commit 'c2': .*d@c2.hnsw.*checksum" "$T/out" || fail "broken store: no problem line"
grep -q "commit 'c1'" "$T/out" "$T/err" && fail "broken store: c1 reported: $(cat "$T/out" "$T/err")"
expect 1 "$VSTORE" inspect --verify --json "$T/broken"; one_line_error "commit 'c2'"
jq_check '.verify.ok == false and (.verify.problems | length) == 1
    and .verify.problems[0].where == "domain '"'d'"', commit '"'c2'"'"' "$T/out" "broken store json"

# c1's graph file missing as well: two problems, each on its own line.
rm "$T/broken/d@c1.hnsw"
expect 1 "$VSTORE" inspect --verify "$T/broken"; one_line_error "commit 'c1'.*(and 1 more)"
grep -q "^  domain 'd', commit 'c1': .*missing" "$T/out" || fail "missing graph: no problem line: $(cat "$T/out")"
grep -q "^  domain 'd', commit 'c2': " "$T/out" || fail "missing graph: c2 no longer reported"

# A vector of the store's vector file damaged (the first data page starts at 8192): --verify
# names the vector file and the vector; the graphs are still fine.
cp -r "$S" "$T/badvecs"
flip_byte "$T/badvecs/d.vecs" $((8192 + 1))
expect 0 "$VSTORE" inspect "$T/badvecs"
expect 1 "$VSTORE" inspect --verify "$T/badvecs"
one_line_error "vector file 'd.vecs', vector 0: fails its checksum"

# Not stores: a directory without a catalog, a random file, the catalog file itself.
mkdir "$T/nocatalog"
expect 1 "$VSTORE" inspect "$T/nocatalog"
one_line_error "'$T/nocatalog' is a directory but not a vstore store (no catalog)"
head -c 4096 /dev/urandom >"$T/random"
expect 1 "$VSTORE" inspect "$T/random"
one_line_error "'$T/random' is not a vstore file or store (unknown magic)"
expect 1 "$VSTORE" inspect --json "$T/random"; one_line_error "unknown magic"
expect 1 "$VSTORE" inspect "$S/catalog"; one_line_error "unknown magic"

finish "cli inspect"
