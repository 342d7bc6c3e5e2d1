#!/bin/bash
# CLI tests for `vstore inspect` on vector files, graph files (format 2 full and delta, format
# 1) and store directories (format 2, and the format-1 fixture tests/data/v1-store): output,
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
# c1's graph is a full file, c2's a delta over it (the store's default policy).
S="$T/small"
"$MAKE_SMALL_STORE" "$S" >/dev/null || fail "make_small_store failed"

expect 0 "$VSTORE" inspect "$S"
grep -q "^kind *store$" "$T/out" || fail "store: no kind line: $(cat "$T/out")"
grep -q "^domain *d$" "$T/out" || fail "store: no domain line"
grep -q "^dimension *8$" "$T/out" || fail "store: no dimension line"
grep -q "^metric *l2$" "$T/out" || fail "store: no metric line"
grep -q "^vector file *d.vecs (360 vectors)$" "$T/out" || fail "store: no vector file line"
grep -Eq '^ +c1 +- +[0-9T:Z-]+ +300 +0 +\+300 -0 ~0 +no +full +0 +d@c1\.hnsw +[0-9]+$' "$T/out" ||
    fail "store: no row for c1: $(cat "$T/out")"
grep -Eq '^ +c2 +c1 +[0-9T:Z-]+ +320 +[0-9]+ +\+50 -30 ~10 +no +delta +1 +d@c2\.hnsw +[0-9]+$' "$T/out" ||
    fail "store: no row for c2: $(cat "$T/out")"
grep -Eq '^graph files +2 files, [0-9]+ bytes: 1 full \([0-9]+ bytes\), 1 delta \([0-9]+ bytes\)$' "$T/out" ||
    fail "store: no graph files line: $(cat "$T/out")"

expect 0 "$VSTORE" inspect --json "$S"
cp "$T/out" "$T/store.json"
jq_check '.kind == "store" and .domain_count == 1 and .commit_count == 2 and (has("verify") | not)
    and (.domains | length) == 1
    and (.domains[0] | .name == "d" and .dimension == 8 and .metric == "l2" and .m == 16
         and .ef_construction == 200 and .vector_file == "d.vecs" and .vectors == 360
         and ([.commits[].commit] == ["c1", "c2"]))
    and (.domains[0].commits[0] | .parent == null and .live == 300 and .tombstones == 0
         and .inserted == 300 and .deleted == 0 and .replaced == 0 and .graph_file == "d@c1.hnsw"
         and .graph_bytes > 0 and .graph_kind == "full" and .graph_format == 2
         and .chain_depth == 0 and .graph_owner == null
         and .graph_chain == [{file: "d@c1.hnsw", bytes: .graph_bytes, checksum: .graph_checksum}])
    and (.domains[0].commits[1] | .parent == "c1" and .live == 320 and .inserted == 50
         and .deleted == 30 and .replaced == 10 and .graph_file == "d@c2.hnsw"
         and (.compacted | type) == "boolean" and .graph_kind == "delta" and .graph_format == 2
         and .chain_depth == 1 and .graph_owner == null
         and [.graph_chain[].file] == ["d@c1.hnsw", "d@c2.hnsw"]
         and .graph_chain[1] == {file: "d@c2.hnsw", bytes: .graph_bytes, checksum: .graph_checksum})
    and .domains[0].commits[1].graph_chain[0] == .domains[0].commits[0].graph_chain[0]
    and .graph_files == {files: 2, bytes: ([.domains[0].commits[].graph_bytes] | add),
                         full: {files: 1, bytes: .domains[0].commits[0].graph_bytes},
                         delta: {files: 1, bytes: .domains[0].commits[1].graph_bytes},
                         v1: {files: 0, bytes: 0}, shared_commits: 0}' "$T/store.json" "store json"

expect 0 "$VSTORE" inspect --verify "$S"
grep -q "^verify *ok: 1 vector file (360 vectors) and 2 commits checked; .*every delta applies to its base.*the catalog, vector files and graph files agree (360 indexed vectors hashed)$" \
    "$T/out" || fail "store verify line: $(cat "$T/out")"
expect 0 "$VSTORE" inspect --verify --json "$S"
jq_check '.verify.ok == true and .verify.commits_checked == 2 and .verify.vector_files_checked == 1
    and .verify.vectors_checked == 360 and .verify.content_entries_checked == 360
    and .verify.problems == []' "$T/out" "store verify json"

# A commit that shares c2's graph (vstore assign): its row says so, the summary counts each
# file once, and --verify checks it too.
cp -r "$S" "$T/shared"
expect 0 "$VSTORE" assign "$T/shared" --domain d --source c2 --target c3 -q
expect 0 "$VSTORE" inspect "$T/shared"
grep -Eq '^ +c3 +c2 +[0-9T:Z-]+ +320 +[0-9]+ +\+0 -0 ~0 +no +delta +1 +d@c2\.hnsw +[0-9]+  shares the graph of c2$' \
    "$T/out" || fail "shared store: no row for c3: $(cat "$T/out")"
grep -Eq '^graph files +2 files, .*; 1 commit sharing another.s graph$' "$T/out" ||
    fail "shared store: graph files line: $(cat "$T/out")"
expect 0 "$VSTORE" inspect --json "$T/shared"
jq_check '.commit_count == 3 and .graph_files.files == 2 and .graph_files.shared_commits == 1
    and (.domains[0].commits | map(select(.commit == "c3"))[0] | .graph_owner == "c2"
         and .graph_file == "d@c2.hnsw" and .chain_depth == 1)
    and (.domains[0].commits | map(select(.commit == "c3"))[0].graph_chain)
        == (.domains[0].commits | map(select(.commit == "c2"))[0].graph_chain)' \
    "$T/out" "shared store json"
expect 0 "$VSTORE" inspect --verify "$T/shared"
grep -q "^verify *ok: 1 vector file (360 vectors) and 3 commits checked" "$T/out" ||
    fail "shared store verify: $(cat "$T/out")"

# ---- Graph files: a full file ----------------------------------------------------------------
C1=$(jq -c '.domains[0].commits[] | select(.commit == "c1")' "$T/store.json")
C2=$(jq -c '.domains[0].commits[] | select(.commit == "c2")' "$T/store.json")
G1="$S/$(jq -r .graph_file <<<"$C1")"
G2="$S/$(jq -r .graph_file <<<"$C2")"
[ -f "$G1" ] || fail "store json names no graph file for c1: $G1"
[ -f "$G2" ] || fail "store json names no graph file for c2: $G2"

expect 0 "$VSTORE" inspect "$G1"
grep -q "^kind *graph file (format version 2, full)$" "$T/out" || fail "full: no kind line: $(cat "$T/out")"
grep -q "^domain *d$" "$T/out" || fail "full: no domain line"
grep -q "^commit *c1$" "$T/out" || fail "full: no commit line"
grep -q "^parent *none (a first commit)$" "$T/out" || fail "full: no parent line"
grep -q "^metric *l2$" "$T/out" || fail "full: no metric line"
grep -q "^M *16 " "$T/out" || fail "full: no M line"
grep -Eq "^nodes *300: 300 live, 0 tombstoned" "$T/out" || fail "full: no nodes line"
grep -Eq "^upper records *[0-9]+ " "$T/out" || fail "full: no upper records line"
grep -Eq "^links *[0-9]+$" "$T/out" || fail "full: no links line"
grep -Eq "^entry point *node [0-9]+ \(key [0-9]+\), level [0-9]+$" "$T/out" || fail "full: no entry point"
grep -Eq "^  level 0 +[0-9]+ \([0-9.]+ %\)$" "$T/out" || fail "full: no level histogram"
grep -Eq "^  layer 0 +[0-9]+ nodes: [0-9]+ / [0-9.]+ / [0-9]+, [0-9]+ without links$" "$T/out" ||
    fail "full: no layer 0 degree line"
grep -Eq "^file size +$(jq .graph_bytes <<<"$C1") bytes: 384-byte header, 8 sections" "$T/out" ||
    fail "full: no file size line"
n=0
for s in vector_index key level flags upper_index layer0 upper codes; do
    grep -Eq "^ +$n  $s +[0-9]+ +[0-9]+  [0-9a-f]{16}$" "$T/out" || fail "full: no row for section $n ($s)"
    n=$((n + 1))
done
grep -q "^file checksum *XXH3-64 $(jq -r .graph_checksum <<<"$C1") " "$T/out" || fail "full: no checksum line"
grep -q "^verify" "$T/out" && fail "full: a verify line without --verify"

expect 0 "$VSTORE" inspect --verify --json "$G1"
jq -e --argjson c "$C1" '.kind == "graph file" and .format_version == 2 and .graph_kind == "full"
    and .domain == "d" and .commit == "c1" and .parent == null and .metric == "l2"
    and .dimension == 8 and .m == 16 and .ef_construction == 200
    and .vector_count == $c.vector_count and .live == 300 and .tombstones == 0 and .removed == 0
    and .nodes == .live + .tombstones + .removed
    and (.level_histogram | add) == .live + .tombstones
    and (.level_histogram | length) == .max_level + 1
    and .upper_records == ([.level_histogram | to_entries[] | .key * .value] | add)
    and .entry_point.level == .max_level and .entry_point.ordinal < .nodes
    and (.degree | length) == .max_level + 1 and .degree[0].layer == 0
    and .degree[0].nodes == .nodes and .degree[0].max <= 2 * .m and .degree[0].min <= .degree[0].mean
    and all(.degree[1:][]; .max <= 16)
    and .links == ([.degree[] | .mean * .nodes] | add | round)
    and .file_bytes == $c.graph_bytes and .file_checksum == $c.graph_checksum
    and [.sections[].name] == ["vector_index", "key", "level", "flags", "upper_index", "layer0",
                               "upper", "codes"]
    and [.sections[].section] == [0, 1, 2, 3, 4, 5, 6, 7]
    and .sections[0].offset == .header_bytes and .header_bytes == 384
    and all(.sections[]; .offset % 64 == 0 and (.checksum | test("^[0-9a-f]{16}$")))
    and ([range(7)] | all(. as $i | $root.sections[$i + 1].offset >= $root.sections[$i].offset + $root.sections[$i].bytes))
    and .sections[0].bytes == 8 * .nodes and .sections[1].bytes == 8 * .nodes
    and .sections[2].bytes == .nodes and .sections[3].bytes == .nodes
    and .sections[4].bytes == 4 * .nodes and .sections[5].bytes == 4 * (2 * .m + 1) * .nodes
    and .sections[6].bytes == 4 * (.m + 1) * .upper_records
    and .sections[7] == {section: 7, name: "codes", offset: .file_bytes, bytes: 0,
                         checksum: "2d06800538d394c2"}
    and .verify.ok == true and .verify.links_checked == .links and .verify.sections_checked == 8
    and .verify.problems == []' --argjson root "$(jq -c . "$T/out")" "$T/out" >/dev/null ||
    fail "full json: $(head -c 600 "$T/out")"

expect 0 "$VSTORE" inspect --verify "$G1"
grep -q "^verify *ok: every checksum and graph rule holds, [0-9]* links checked, layer 0 reaches every live node$" \
    "$T/out" || fail "full verify line: $(cat "$T/out")"

# A full file that the format accepts but that vstore never writes (a live node nothing links
# to, a neighbour listed twice; and a removed node): plain inspect describes it, --verify
# reports the unreachable node as a problem and notes the duplicate, which is legal.
"$MAKE_SMALL_STORE" --odd-graph "$T/odd.hnsw" || fail "make_small_store --odd-graph failed"
expect 0 "$VSTORE" inspect "$T/odd.hnsw"
grep -q "^kind *graph file (format version 2, full)$" "$T/out" || fail "odd graph: kind: $(cat "$T/out")"
grep -q "^nodes *4: 3 live, 0 tombstoned (kept for navigation, never returned), 1 removed (empty slots)$" \
    "$T/out" || fail "odd graph: nodes line: $(cat "$T/out")"
expect 1 "$VSTORE" inspect --verify "$T/odd.hnsw"
one_line_error "layer 0: 1 live node not reachable from the entry point (first: node 2)"
grep -q "^  layer 0: 1 live node not reachable from the entry point (first: node 2)$" "$T/out" ||
    fail "odd graph: no reachability problem: $(cat "$T/out")"
grep -q "^note *1 list with a node twice (first: node 1, layer 0): legal" "$T/out" ||
    fail "odd graph: no duplicate note: $(cat "$T/out")"
expect 1 "$VSTORE" inspect --verify --json "$T/odd.hnsw"
jq_check '.verify.ok == false and (.verify.problems | length) == 1 and .removed == 1 and .live == 3
    and .verify.links_checked == 4 and .verify.lists_with_duplicate_links == 1
    and .verify.first_duplicate_link == "node 1, layer 0"' "$T/out" "odd graph json"

# Fix: a neighbour listed twice is legal (spec/graph-file.md: readers accept it, a search skips
# the second), so --verify accepts a file whose only oddity it is, and notes it.
"$MAKE_SMALL_STORE" --duplicate-link-graph "$T/dup.hnsw" || fail "make_small_store --duplicate-link-graph failed"
expect 0 "$VSTORE" inspect --verify "$T/dup.hnsw"
grep -q "^verify *ok: every checksum and graph rule holds, 5 links checked, layer 0 reaches every live node$" \
    "$T/out" || fail "duplicate link: verify line: $(cat "$T/out")"
grep -q "^note *1 list with a node twice (first: node 1, layer 0): legal" "$T/out" ||
    fail "duplicate link: no note: $(cat "$T/out")"
expect 0 "$VSTORE" inspect --verify --json "$T/dup.hnsw"
jq_check '.verify.ok == true and .verify.problems == [] and .verify.lists_with_duplicate_links == 1' \
    "$T/out" "duplicate link json"

# A commit that replaces every id: its graph keeps the old nodes that live in upper layers as
# tombstones, each with the key of its id's live node (spec/graph-file.md, "Keys"). --verify
# accepts the file and the store, and counts those tombstones.
"$MAKE_SMALL_STORE" --replaced "$T/replaced" >/dev/null || fail "make_small_store --replaced failed"
expect 0 "$VSTORE" inspect --verify --json "$T/replaced/r@c2.hnsw"
jq_check '.verify.ok == true and .verify.problems == [] and .live == 40 and .tombstones > 0
    and .verify.tombstones_with_live_key == .tombstones' "$T/out" "replaced graph json"
expect 0 "$VSTORE" inspect --verify "$T/replaced"
grep -q "^verify *ok" "$T/out" || fail "replaced store: verify line: $(cat "$T/out")"

# ---- Graph files: a delta --------------------------------------------------------------------
expect 0 "$VSTORE" inspect "$G2"
grep -q "^kind *graph file (format version 2, delta)$" "$T/out" || fail "delta: no kind line: $(cat "$T/out")"
grep -q "^commit *c2$" "$T/out" || fail "delta: no commit line"
grep -q "^parent *c1$" "$T/out" || fail "delta: no parent line"
grep -Eq "^nodes *[0-9]+: 320 live, [0-9]+ tombstoned .*; the graph this delta yields$" "$T/out" ||
    fail "delta: no nodes line"
grep -Eq "^entry point *node [0-9]+ \((key [0-9]+|key in the base)\), level [0-9]+$" "$T/out" ||
    fail "delta: no entry point"
grep -q "^base file *d@c1.hnsw: $(jq .graph_bytes <<<"$C1") bytes, XXH3-64 $(jq -r .graph_checksum <<<"$C1"), 300 nodes$" \
    "$T/out" || fail "delta: no base file line: $(cat "$T/out")"
grep -q "^chain depth *1 " "$T/out" || fail "delta: no chain depth line"
grep -Eq "^changes *[0-9]+ new nodes, [0-9]+ vector changes?, [0-9]+ flag changes?, [0-9]+ list changes? \([0-9]+ tail links?\)$" \
    "$T/out" || fail "delta: no changes line: $(cat "$T/out")"
grep -Eq "^body *(zstd-compressed, [0-9]+ bytes for [0-9]+ raw|raw \(not compressed\), [0-9]+ bytes)" "$T/out" ||
    fail "delta: no body line"
grep -Eq "^file size *$(jq .graph_bytes <<<"$C2") bytes: 384-byte header, [0-9]+-byte body$" "$T/out" ||
    fail "delta: no file size line"
grep -q "^levels\|^sections" "$T/out" && fail "delta: levels or sections of a delta: $(cat "$T/out")"

expect 0 "$VSTORE" inspect --verify --json "$G2"
jq -e --argjson c1 "$C1" --argjson c2 "$C2" '.kind == "graph file" and .format_version == 2
    and .graph_kind == "delta" and .domain == "d" and .commit == "c2" and .parent == "c1"
    and .metric == "l2" and .dimension == 8 and .m == 16 and .vector_count == $c2.vector_count
    and .live == 320 and .tombstones == $c2.tombstones and .nodes == .live + .tombstones + .removed
    and .base == {file: "d@c1.hnsw", bytes: $c1.graph_bytes, checksum: $c1.graph_checksum,
                  node_count: 300}
    and .chain_depth == 1 and .new_nodes == .nodes - .base.node_count and .new_nodes >= 50
    and .flag_changes >= 30 and .list_changes > 0 and .tail_links > 0
    and .raw_body_bytes == 18 * .new_nodes + 12 * .vector_changes + 5 * .flag_changes
                           + 9 * .list_changes + 4 * .tail_links
    and .stored_body_bytes == .delta_bytes - .header_bytes
    and (.body_encoding == "zstd" or .body_encoding == "raw")
    and ((.body_encoding == "raw") == (.raw_body_bytes == .stored_body_bytes))
    and .delta_bytes == $c2.graph_bytes and .file_bytes == .delta_bytes
    and .file_checksum == $c2.graph_checksum
    and .entry_point.level == .max_level and (has("sections") | not)
    and .verify.ok == true and .verify.problems == []
    and .verify.chain == [{file: "d@c1.hnsw", found: true, ok: true, graph_kind: "full",
                           chain_depth: 0}]' "$T/out" >/dev/null ||
    fail "delta json: $(head -c 800 "$T/out")"
expect 0 "$VSTORE" inspect --verify "$G2"
grep -q "^verify *ok: both body checksums and every delta rule hold; the chain beside it checked down to the full file 'd@c1.hnsw' (1 base file)$" \
    "$T/out" || fail "delta verify line: $(cat "$T/out")"

# The delta without its base beside it: described and decoded; the chain is not checked.
mkdir "$T/alone"
cp "$G2" "$T/alone/"
expect 0 "$VSTORE" inspect --verify "$T/alone/d@c2.hnsw"
grep -q "^verify *ok: .*; base file 'd@c1.hnsw' is not beside it, so the chain was not checked$" \
    "$T/out" || fail "lone delta verify line: $(cat "$T/out")"
expect 0 "$VSTORE" inspect --verify --json "$T/alone/d@c2.hnsw"
jq_check '.verify.ok == true and .verify.chain == [{file: "d@c1.hnsw", found: false}]' "$T/out" \
    "lone delta json"

# A damaged base beside it: plain inspect reads only the delta; --verify names the base.
mkdir "$T/badbase"
cp "$G1" "$G2" "$T/badbase/"
flip_byte "$T/badbase/d@c1.hnsw" 5000
expect 0 "$VSTORE" inspect "$T/badbase/d@c2.hnsw"
expect 1 "$VSTORE" inspect --verify "$T/badbase/d@c2.hnsw"
one_line_error "base file 'd@c1.hnsw': has XXH3-64 [0-9a-f]*; 'd@c2.hnsw' was made on a base with $(jq -r .graph_checksum <<<"$C1") in '$T/badbase/d@c2.hnsw'"
grep -q "^verify *FAILED: 1 problem$" "$T/out" || fail "bad base: no FAILED line: $(cat "$T/out")"
expect 1 "$VSTORE" inspect --verify --json "$T/badbase/d@c2.hnsw"
jq_check '.verify.ok == false and .verify.chain[0].ok == false
    and .verify.problems[0].where == "base file '"'d@c1.hnsw'"'"' "$T/out" "bad base json"
truncate -s 4096 "$T/badbase/d@c1.hnsw"
expect 1 "$VSTORE" inspect --verify "$T/badbase/d@c2.hnsw"
one_line_error "base file 'd@c1.hnsw': has 4096 bytes; 'd@c2.hnsw' was made on a base of $(jq .graph_bytes <<<"$C1")"
# Another file under the base's name (c2's own file): length differs, so named too.
cp "$G2" "$T/badbase/d@c1.hnsw"
expect 1 "$VSTORE" inspect --verify "$T/badbase/d@c2.hnsw"; one_line_error "base file 'd@c1.hnsw': has"

# ---- Graph files: damage ---------------------------------------------------------------------
# A flipped byte in the middle of a full file (a section) and of a delta (its body), and in a
# header: one-line error naming the file, with or without --verify or --json, and nothing on
# stdout.
for g in "$G1" "$G2"; do
    cp "$g" "$T/bad.hnsw"
    flip_byte "$T/bad.hnsw" $(($(stat -c %s "$T/bad.hnsw") / 2))
    expect 1 "$VSTORE" inspect "$T/bad.hnsw"; one_line_error "graph file '$T/bad.hnsw'.*checksum mismatch"
    expect 1 "$VSTORE" inspect --verify --json "$T/bad.hnsw"; one_line_error "checksum mismatch"
    [ -s "$T/out" ] && fail "a corrupt graph file printed output: $(head -c 300 "$T/out")"
    cp "$g" "$T/bad.hnsw"
    flip_byte "$T/bad.hnsw" 100
    expect 1 "$VSTORE" inspect --verify "$T/bad.hnsw"; one_line_error "graph file '$T/bad.hnsw': header checksum mismatch"
done
cp "$G1" "$T/bad.hnsw"
flip_byte "$T/bad.hnsw" $(($(stat -c %s "$T/bad.hnsw") / 2))
expect 1 "$VSTORE" inspect "$T/bad.hnsw"; one_line_error "section 5 (layer0) checksum mismatch"
cp "$G2" "$T/bad.hnsw"
flip_byte "$T/bad.hnsw" $(($(stat -c %s "$T/bad.hnsw") / 2))
expect 1 "$VSTORE" inspect "$T/bad.hnsw"; one_line_error "stored body checksum mismatch"
# Truncated, too long, and of a later version.
head -c 100 "$G1" >"$T/cut.hnsw"
expect 1 "$VSTORE" inspect "$T/cut.hnsw"; one_line_error "truncated"
head -c 10 "$G1" >"$T/cut.hnsw"
expect 1 "$VSTORE" inspect "$T/cut.hnsw"; one_line_error "graph file '$T/cut.hnsw' is truncated"
head -c $(($(stat -c %s "$G1") - 64)) "$G1" >"$T/cut.hnsw"
expect 1 "$VSTORE" inspect "$T/cut.hnsw"; one_line_error "truncated: .*its sections end at byte"
head -c $(($(stat -c %s "$G2") - 1)) "$G2" >"$T/cut.hnsw"
expect 1 "$VSTORE" inspect "$T/cut.hnsw"; one_line_error "truncated"
{ cat "$G1"; printf 'xy'; } >"$T/long.hnsw"
expect 1 "$VSTORE" inspect "$T/long.hnsw"; one_line_error "2 trailing bytes"
cp "$G1" "$T/v3.hnsw"
printf '\x03' | dd of="$T/v3.hnsw" bs=1 seek=8 conv=notrunc status=none  # the version field
expect 1 "$VSTORE" inspect "$T/v3.hnsw"; one_line_error "has format version 3; this build reads versions 1 and 2"

# ---- Damaged stores --------------------------------------------------------------------------
# c2's delta damaged: plain inspect only reads the catalog and the vector file's count, so it
# still describes the store; --verify checks every commit's chain and names c2 (and only c2).
cp -r "$S" "$T/broken"
flip_byte "$T/broken/d@c2.hnsw" $(($(stat -c %s "$T/broken/d@c2.hnsw") / 2))
expect 0 "$VSTORE" inspect "$T/broken"
expect 1 "$VSTORE" inspect --verify "$T/broken"; one_line_error "commit 'c2'.*d@c2.hnsw"
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

# Only the base of c2's delta removed: both commits need it, and both problems name it.
cp -r "$S" "$T/nobase"
rm "$T/nobase/d@c1.hnsw"
expect 0 "$VSTORE" inspect "$T/nobase"
expect 1 "$VSTORE" inspect --verify "$T/nobase"; one_line_error "d@c1.hnsw.*(and 1 more)"
grep -q "^  domain 'd', commit 'c1': .*graph file 'd@c1.hnsw' of commit 'c1' is missing$" "$T/out" ||
    fail "no base: c1 line: $(cat "$T/out")"
grep -q "^  domain 'd', commit 'c2': .*graph file 'd@c1.hnsw' of commit 'c2' is missing$" "$T/out" ||
    fail "no base: c2 line: $(cat "$T/out")"

# A flipped byte in a section of the full file at the root: loading a commit maps it without
# reading it all, so it is Store::verify_graph that finds it, for c1 and for c2 built on it.
cp -r "$S" "$T/badroot"
flip_byte "$T/badroot/d@c1.hnsw" $(($(stat -c %s "$T/badroot/d@c1.hnsw") / 2))
expect 1 "$VSTORE" inspect --verify --json "$T/badroot"
jq_check '(.verify.problems | length) == 2
    and all(.verify.problems[]; .what | test("d@c1.hnsw"))
    and [.verify.problems[].where] == ["domain '"'d'"', commit '"'c1'"'", "domain '"'d'"', commit '"'c2'"'"]' \
    "$T/out" "bad root json"

# A vector of the store's vector file damaged (the first data page starts at 8192): --verify
# names the vector file and the vector; the graphs are still fine.
cp -r "$S" "$T/badvecs"
flip_byte "$T/badvecs/d.vecs" $((8192 + 1))
expect 0 "$VSTORE" inspect "$T/badvecs"
expect 1 "$VSTORE" inspect --verify "$T/badvecs"
one_line_error "vector file 'd.vecs', vector 0: fails its checksum"

# ---- A store of graph format 1 -----------------------------------------------------------------
# tests/data/v1-store (see tests/data/README.md), copied first: the fixture itself is only read.
V1SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../data/v1-store" && pwd)"
fixture_state() { (cd "$V1SRC" && find . -type f | LC_ALL=C sort | xargs sha256sum; ls -lA); }
fixture_state >"$T/fixture.before"
cp -r "$V1SRC" "$T/v1"
chmod -R u+w "$T/v1"
expect 0 "$VSTORE" inspect "$T/v1"
grep -Eq '^ +c1 +- +[0-9T:Z-]+ +300 +0 +\+300 -0 ~0 +no +full v1 +0 +d@c1\.hnsw +[0-9]+$' "$T/out" ||
    fail "v1 store: no row for c1: $(cat "$T/out")"
grep -Eq '^ +c2 +c1 +[0-9T:Z-]+ +320 +5 +\+50 -30 ~10 +no +full v1 +0 +d@c2\.hnsw +[0-9]+$' "$T/out" ||
    fail "v1 store: no row for c2: $(cat "$T/out")"
grep -Eq '^graph files +2 files, [0-9]+ bytes: 2 full of format 1 \([0-9]+ bytes\)$' "$T/out" ||
    fail "v1 store: graph files line: $(cat "$T/out")"
expect 0 "$VSTORE" inspect --verify --json "$T/v1"
cp "$T/out" "$T/v1.json"
jq_check '.commit_count == 2 and all(.domains[0].commits[]; .graph_format == 1
        and .graph_kind == "full" and .chain_depth == 0 and .graph_owner == null
        and (.graph_chain | length) == 1)
    and .graph_files.v1.files == 2 and .graph_files.full.files == 0
    and .verify.ok == true and .verify.commits_checked == 2 and .verify.vectors_checked == 360' \
    "$T/v1.json" "v1 store json"
V1C2=$(jq -c '.domains[0].commits[] | select(.commit == "c2")' "$T/v1.json")
expect 0 "$VSTORE" inspect --verify "$T/v1/d@c2.hnsw"
grep -q "^kind *graph file (format version 1, legacy)$" "$T/out" || fail "v1 graph: kind line: $(cat "$T/out")"
grep -q "^nodes *325: 320 live, 5 tombstoned" "$T/out" || fail "v1 graph: nodes line"
grep -Eq "^  level 0 +[0-9]+ \([0-9.]+ %\)$" "$T/out" || fail "v1 graph: no level histogram"
grep -q "^verify *ok: every checksum and graph rule holds" "$T/out" || fail "v1 graph: verify line"
expect 0 "$VSTORE" inspect --verify --json "$T/v1/d@c2.hnsw"
jq -e --argjson c "$V1C2" '.kind == "graph file" and .format_version == 1 and .graph_kind == "full"
    and .commit == "c2" and .parent == "c1" and .live == 320 and .tombstones == 5 and .removed == 0
    and .nodes == 325 and (.level_histogram | add) == .nodes and .entry_point.level == .max_level
    and .file_bytes == $c.graph_bytes and .file_checksum == $c.graph_checksum
    and (has("sections") | not) and .verify.ok == true and .verify.links_checked == .links' \
    "$T/out" >/dev/null || fail "v1 graph json: $(head -c 600 "$T/out")"
cp "$T/v1/d@c2.hnsw" "$T/badv1.hnsw"
flip_byte "$T/badv1.hnsw" $(($(stat -c %s "$T/badv1.hnsw") / 2))
expect 1 "$VSTORE" inspect "$T/badv1.hnsw"; one_line_error "graph file '$T/badv1.hnsw'.*checksum mismatch"
flip_byte "$T/v1/d@c2.hnsw" $(($(stat -c %s "$T/v1/d@c2.hnsw") / 2))
expect 1 "$VSTORE" inspect --verify "$T/v1"; one_line_error "commit 'c2'.*d@c2.hnsw"
fixture_state >"$T/fixture.after"
cmp -s "$T/fixture.before" "$T/fixture.after" || fail "the v1-store fixture changed: $(diff "$T/fixture.before" "$T/fixture.after")"

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
