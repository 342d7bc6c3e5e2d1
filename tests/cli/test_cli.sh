#!/bin/bash
# CLI tests for the `vstore` commands that build, read and pack stores: init, domain, index
# (--ops, --snapshot, --sqlite), assign, search, similar, duplicates, log, pack, inspect of stores
# and packs. They run the real binary on a dataset of every input format written by
# vstore-make-inputs (dimension 8, 1500 vectors: enough that search goes through the graph) and
# check results, exit statuses, one-line errors, and that a failed command changes nothing.
# Usage: test_cli.sh VSTORE MAKE_INPUTS   (VSTORE_TEST_SEED picks another dataset; default 1)
set -u
VSTORE=$1
MAKE_INPUTS=$2
SEED=${VSTORE_TEST_SEED:-1}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# same FILE1 FILE2 WHAT: the two files are identical.
same() {
    cmp -s "$1" "$2" || fail "$3: $(diff "$1" "$2" | head -c 600)"
}

# counts FILE: the {inserted, deleted, replaced, live} of an `index --json` summary, compact.
counts() {
    jq -c '{inserted, deleted, replaced, live}' "$1"
}
# search_all SOURCE DOMAIN COMMIT OUT: the 20 queries of queries.fvecs, --json, into OUT.
search_all() {
    "$VSTORE" search "$1" --domain "$2" --commit "$3" --vector-file "$I/queries.fvecs" --json \
        >"$4" 2>"$T/err" || fail "search of $1 $2@$3 failed: $(cat "$T/err")"
}

I="$T/in"
"$MAKE_INPUTS" "$I" "$SEED" || { echo "FAIL: vstore-make-inputs failed"; exit 1; }
S="$T/store"
E="$I/expected_snap2.json"
expected() { jq -c ".$1 | {inserted, deleted, replaced, live}" "$E"; }

# ---- init, domain ----------------------------------------------------------------------------
expect 0 "$VSTORE" init "$S"
[ -f "$S/catalog" ] || fail "init made no catalog"
fails_cleanly 1 "already holds a store" "$VSTORE" init "$S"

expect 0 "$VSTORE" domain create "$S" d --dim 8
grep -q "^created domain 'd': 8 dimensions, l2, M 16, ef_construction 200$" "$T/out" ||
    fail "domain create output: $(cat "$T/out")"
expect 0 "$VSTORE" domain create "$S" cos --dim 8 --metric cosine --m 8 --ef-construction 50 --json
jq_check '.name == "cos" and .dimension == 8 and .metric == "cosine" and .m == 8
    and .ef_construction == 50 and (.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$"))' \
    "$T/out" "domain create --json"
fails_cleanly 2 "" "$VSTORE" domain create "$S" e --dim 8 --metric hamming
grep -q "metric" "$T/err" || fail "unknown metric: error does not name --metric: $(cat "$T/err")"
fails_cleanly 1 "domain 'd' already exists" "$VSTORE" domain create "$S" d --dim 8
fails_cleanly 1 "domain 'd' already exists" "$VSTORE" domain create "$S" d --dim 4 --metric ip
fails_cleanly 2 "" "$VSTORE" domain create "$S" e --dim 0
grep -q -- "--dim" "$T/err" || fail "--dim 0: error does not name --dim: $(cat "$T/err")"
fails_cleanly 2 "" "$VSTORE" domain create "$S" e
expect 1 "$VSTORE" domain create "$T/no-store" e --dim 8; one_line_error "no-store"
[ -e "$T/no-store" ] && fail "domain create made a store directory"

expect 0 "$VSTORE" domain list "$S"
[ "$(cat "$T/out")" = "cos  8 dimensions, cosine, M 8, ef_construction 50, 0 commits
d  8 dimensions, l2, M 16, ef_construction 200, 0 commits" ] || fail "domain list: $(cat "$T/out")"
expect 0 "$VSTORE" domain list "$S" --json
jq_check 'map(.name) == ["cos", "d"] and all(.[]; .commits == 0 and .dimension == 8)
    and (.[1] | .metric == "l2" and .m == 16 and .ef_construction == 200)
    and (.[0] | keys_unsorted) == ["name", "dimension", "metric", "m", "ef_construction",
                                   "created", "commits"]' "$T/out" "domain list --json"

# ---- index --ops ------------------------------------------------------------------------------
expect 0 "$VSTORE" index "$S" --domain d --commit c1 --ops "$I/base.jsonl" -q
grep -q "^commit 'c1' of domain 'd' (a root commit): 1500 inserted, 0 deleted, 0 replaced, 0 unchanged$" \
    "$T/out" || fail "index c1 summary: $(cat "$T/out")"
grep -Eq "^  1500 live, 0 tombstones; " "$T/out" || fail "index c1 live line: $(cat "$T/out")"
[ -s "$T/err" ] && fail "index -q wrote to stderr: $(head -c 300 "$T/err")"

# The same operations from standard input, into another domain.
expect 0 "$VSTORE" domain create "$S" stdin --dim 8
"$VSTORE" index "$S" --domain stdin --commit c1 --ops - --json -q <"$I/base.jsonl" >"$T/out" 2>"$T/err" ||
    fail "index --ops - failed: $(cat "$T/err")"
jq_check '.inserted == 1500 and .deleted == 0 and .replaced == 0 and .live == 1500
    and .parent == null and .unchanged == 0' "$T/out" "index --ops - summary"

expect 0 "$VSTORE" index "$S" --domain d --commit c2 --parent c1 --ops "$I/ops2.jsonl" --json -q
cp "$T/out" "$T/c2.json"
[ "$(counts "$T/c2.json")" = "$(expected ops2)" ] || fail "ops2 counts: $(cat "$T/c2.json")"
jq_check '.domain == "d" and .commit == "c2" and .parent == "c1" and .unchanged == 1350
    and .graph_file == "d@c2.hnsw" and .graph_bytes > 0 and (.compacted | type) == "boolean"
    and (.tombstones | type) == "number" and (.seconds | type) == "number"' "$T/c2.json" "c2 summary"
[ -f "$S/d@c2.hnsw" ] || fail "no graph file for c2"

# log: the chain from c2, and every commit of the domain.
expect 0 "$VSTORE" log "$S" --domain d --commit c2 --json
cp "$T/out" "$T/log-c2.json"
jq_check 'length == 2 and map(.commit) == ["c2", "c1"] and map(.parent) == ["c1", null]
    and (.[0] | .inserted == 200 and .deleted == 100 and .replaced == 50 and .live == 1600)
    and (.[1] | .inserted == 1500 and .deleted == 0 and .replaced == 0 and .live == 1500
         and .tombstones == 0)
    and (.[0] | keys_unsorted) == ["domain", "commit", "parent", "parent_dropped", "created",
        "inserted", "deleted", "replaced", "live", "tombstones", "compacted", "graph_file",
        "graph_bytes", "graph_owner", "graph_owner_dropped"]
    and all(.[]; .graph_owner == null)' \
    "$T/log-c2.json" "log --json"
expect 0 "$VSTORE" log "$S" --domain d --commit c2
cp "$T/out" "$T/log-c2.txt"
grep -Eq '^commit +parent +created +operations +live +tombstones$' "$T/out" || fail "log header: $(cat "$T/out")"
grep -Eq '^c2 +c1 +[0-9]{4}-[0-9-]+T[0-9:]+Z +\+200 -100 ~50 +1600 +[0-9]+( +compacted)?$' "$T/out" ||
    fail "log row c2: $(cat "$T/out")"
grep -Eq '^c1 +- +[0-9]{4}-[0-9-]+T[0-9:]+Z +\+1500 -0 ~0 +1500 +0$' "$T/out" || fail "log row c1: $(cat "$T/out")"
[ "$(wc -l <"$T/out")" = 3 ] || fail "log c2: not 3 lines: $(cat "$T/out")"
expect 0 "$VSTORE" log "$S" --domain d --commit c1 --json
jq_check 'map(.commit) == ["c1"]' "$T/out" "log c1"
expect 0 "$VSTORE" log "$S" --domain d --json
jq_check 'map(.commit) | sort == ["c1", "c2"]' "$T/out" "log of the domain"
expect 2 "$VSTORE" log "$S"  # three domains: which one?
expect 1 "$VSTORE" log "$S" --domain nope; one_line_error "unknown domain 'nope'"
expect 1 "$VSTORE" log "$S" --domain d --commit nope; one_line_error "commit 'nope'"

# ---- index --snapshot: every format, into its own domain ------------------------------------
for f in jsonl fvecs npy sqlite; do
    expect 0 "$VSTORE" domain create "$S" "s_$f" --dim 8 -q
    if [ "$f" = sqlite ]; then
        src=(--sqlite "$I/base.db" --table embeddings)
        src2=(--sqlite "$I/snap2.db" --table embeddings)
    elif [ "$f" = jsonl ]; then
        src=(--snapshot "$I/base.jsonl")
        src2=(--snapshot "$I/snap2.jsonl")
    else
        src=(--snapshot "$I/base.$f")
        src2=(--snapshot "$I/snap2_rows.$f")
    fi
    expect 0 "$VSTORE" index "$S" --domain "s_$f" --commit c1 "${src[@]}" --json -q
    [ "$(counts "$T/out")" = '{"inserted":1500,"deleted":0,"replaced":0,"live":1500}' ] ||
        fail "snapshot c1 from $f: $(counts "$T/out")"
    expect 0 "$VSTORE" index "$S" --domain "s_$f" --commit c2 --parent c1 "${src2[@]}" --json -q
    [ "$(counts "$T/out")" = "$(expected "$f")" ] ||
        fail "snapshot c2 from $f: $(counts "$T/out"), wanted $(expected "$f")"
    # The same set again: nothing changed.
    # The same set again: nothing changed, and c3 shares c2's graph (no graph file of its own).
    expect 0 "$VSTORE" index "$S" --domain "s_$f" --commit c3 --parent c2 "${src2[@]}" --json -q
    jq_check '.inserted == 0 and .deleted == 0 and .replaced == 0 and .graph_owner == "c2"
        and .graph_file == "s_'"$f"'@c2.hnsw"' "$T/out" "snapshot c3 from $f"
    [ -e "$S/s_$f@c3.hnsw" ] && fail "snapshot c3 from $f wrote a graph file"
done
# An empty snapshot is the empty set: it deletes every live id (fix: it used to commit the
# parent unchanged), in every format; the next snapshot brings them back.
for f in jsonl fvecs npy sqlite; do
    if [ "$f" = sqlite ]; then
        src=(--sqlite "$I/base.db" --table embeddings)
        empty=(--sqlite "$I/empty.db" --table embeddings)
    else
        src=(--snapshot "$I/base.$f")
        empty=(--snapshot "$I/empty.$f")
    fi
    live=$(jq -r ".$f.live" "$E")
    expect 0 "$VSTORE" index "$S" --domain "s_$f" --commit empty --parent c3 "${empty[@]}" --json -q
    [ "$(counts "$T/out")" = '{"inserted":0,"deleted":'"$live"',"replaced":0,"live":0}' ] ||
        fail "empty snapshot from $f deletes every id: $(counts "$T/out") ($(cat "$T/err"))"
    expect 0 "$VSTORE" search "$S" --domain "s_$f" --commit empty --vector-file "$I/query.json" --json
    [ "$(cat "$T/out")" = "[]" ] || fail "search of an empty snapshot from $f: $(cat "$T/out")"
    expect 0 "$VSTORE" index "$S" --domain "s_$f" --commit refilled --parent empty "${src[@]}" --json -q
    [ "$(counts "$T/out")" = '{"inserted":1500,"deleted":0,"replaced":0,"live":1500}' ] ||
        fail "snapshot after an empty one from $f: $(counts "$T/out")"
done
expect 0 "$VSTORE" log "$S" --domain s_npy --commit c3
grep -Eq '^c3 +c2 +[0-9T:Z-]+ +\+0 -0 ~0 +[0-9]+ +[0-9]+  shares the graph of c2$' "$T/out" ||
    fail "log of a commit that shares its parent's graph: $(cat "$T/out")"
grep -Eq '^c2 .*shares' "$T/out" && fail "log: c2 shares no graph: $(cat "$T/out")"
# A snapshot on standard input, and one as a commit of the ops domain.
"$VSTORE" index "$S" --domain s_jsonl --commit c4 --parent c1 --snapshot - --json -q \
    <"$I/snap2.jsonl" >"$T/out" 2>"$T/err" || fail "index --snapshot - failed: $(cat "$T/err")"
[ "$(counts "$T/out")" = "$(expected jsonl)" ] || fail "snapshot from stdin: $(counts "$T/out")"
expect 0 "$VSTORE" index "$S" --domain d --commit c2snap --parent c1 --snapshot "$I/snap2.jsonl" --json -q
[ "$(counts "$T/out")" = "$(expected jsonl)" ] || fail "snapshot c2snap: $(counts "$T/out")"
# The row files' change set as operations.
expect 0 "$VSTORE" index "$S" --domain d --commit c2rows --parent c1 --ops "$I/ops2_rows.jsonl" --json -q
[ "$(counts "$T/out")" = "$(expected ops2_rows)" ] || fail "ops2_rows: $(counts "$T/out")"

# Snapshot-mode commits answer exactly as the ops-mode commit of the same changes.
search_all "$S" d c1 "$T/q-d-c1"
search_all "$S" stdin c1 "$T/q-stdin-c1"
same "$T/q-d-c1" "$T/q-stdin-c1" "ops from stdin vs from a file"
search_all "$S" d c2 "$T/q-d-c2"
jq_check 'length == 20 and all(.[]; length == 10)' "$T/q-d-c2" "20 queries, 10 hits each"
for f in jsonl fvecs npy sqlite; do
    search_all "$S" "s_$f" c1 "$T/q-$f-c1"
    same "$T/q-d-c1" "$T/q-$f-c1" "snapshot c1 from $f vs ops c1"
done
for f in jsonl sqlite; do
    search_all "$S" "s_$f" c2 "$T/q-$f-c2"
    same "$T/q-d-c2" "$T/q-$f-c2" "snapshot c2 from $f vs ops c2"
done
search_all "$S" s_jsonl c4 "$T/q-stdin-c4"
same "$T/q-d-c2" "$T/q-stdin-c4" "snapshot from stdin vs ops c2"
search_all "$S" d c2snap "$T/q-d-c2snap"
same "$T/q-d-c2" "$T/q-d-c2snap" "snapshot commit c2snap vs ops c2"
search_all "$S" d c2rows "$T/q-d-c2rows"
for f in fvecs npy; do
    search_all "$S" "s_$f" c2 "$T/q-$f-c2"
    same "$T/q-d-c2rows" "$T/q-$f-c2" "snapshot c2 from $f vs ops2_rows"
done
# c1 still answers as before c2.
search_all "$S" d c1 "$T/q-d-c1-again"
same "$T/q-d-c1" "$T/q-d-c1-again" "c1 after c2"

# ---- Input errors: exit 1, one line naming the place, the store unchanged ------------------
ix=("$VSTORE" index "$S" --domain d --commit bad --parent c2 -q)
fails_cleanly 1 "bad_json.jsonl:3: malformed JSON" "${ix[@]}" --ops "$I/bad_json.jsonl"
fails_cleanly 1 "bad_len.jsonl:2: vector has 7 elements" "${ix[@]}" --ops "$I/bad_len.jsonl"
fails_cleanly 1 "bad_op.jsonl:2: unknown op \"Upserted\"" "${ix[@]}" --ops "$I/bad_op.jsonl"
fails_cleanly 1 "bad_nan.fvecs: row 5: .*NaN" "${ix[@]}" --snapshot "$I/bad_nan.fvecs"
fails_cleanly 1 "dup_id.jsonl:4: id '1' appears twice" "${ix[@]}" --snapshot "$I/dup_id.jsonl"
fails_cleanly 1 "bad_f8.npy: dtype '<f8'" "${ix[@]}" --snapshot "$I/bad_f8.npy"
fails_cleanly 1 "bad_blob.db: table \"embeddings\": row 3 (id \"3\"): embedding is 7 bytes" \
    "${ix[@]}" --sqlite "$I/bad_blob.db" --table embeddings
fails_cleanly 1 "base.db: table \"nope\"" "${ix[@]}" --sqlite "$I/base.db" --table nope
# Ids are UTF-8 (fix: a TEXT id of other bytes was stored, and JSON output then failed).
fails_cleanly 1 "bad_utf8.db: table \"embeddings\": row 2: id '.xFF.xFEbin' is not valid UTF-8 (byte 0)" \
    "${ix[@]}" --sqlite "$I/bad_utf8.db" --table embeddings
fails_cleanly 1 "id '5' is already live in parent commit 'c2'" "${ix[@]}" --ops "$I/conflict.jsonl"
fails_cleanly 1 "id 'no-such-id' is not live in parent commit 'c2'" "${ix[@]}" --ops "$I/missing.jsonl"
fails_cleanly 1 "$T/missing.jsonl: no such file" "${ix[@]}" --ops "$T/missing.jsonl"
printf 'x' >"$T/data.txt"
fails_cleanly 1 "data.txt: unknown snapshot format '.txt'" "${ix[@]}" --snapshot "$T/data.txt"
fails_cleanly 1 "<stdin>:3: malformed JSON" "${ix[@]}" --ops - <"$I/bad_json.jsonl"
# A zero vector has no cosine distance (but is a fine l2 vector).
expect 0 "$VSTORE" index "$S" --domain cos --commit c1 --ops "$I/base.jsonl" -q
fails_cleanly 1 "zero.jsonl:2: vector of id 'z1' is zero" \
    "$VSTORE" index "$S" --domain cos --commit c2 --parent c1 --ops "$I/zero.jsonl" -q
# Vectors whose squared norm passes 2^125, whose distances could overflow (fix: accepted, and
# searches then printed "distance": null), in every input and for cosine too.
printf '{"id": "ok", "op": "Inserted", "vector": [1, 1, 1, 1, 1, 1, 1, 1]}
{"id": "big", "op": "Inserted", "vector": [3.4e38, 0, 0, 0, 0, 0, 0, 1]}\n' >"$T/huge.jsonl"
fails_cleanly 1 "huge.jsonl:2: vector of id 'big' has a squared norm of 1.156e+77, above 2^125" \
    "${ix[@]}" --ops "$T/huge.jsonl"
fails_cleanly 1 "huge.jsonl:2: vector of id 'big' has a squared norm" \
    "$VSTORE" index "$S" --domain cos --commit bad --parent c1 --ops "$T/huge.jsonl" -q
printf '{"id": "big", "vector": [0, 0, 0, 5e18, 0, 0, 5e18, 0]}\n' >"$T/huge-snap.jsonl"
fails_cleanly 1 "huge-snap.jsonl:1: vector of id 'big' has a squared norm of 5e+37" \
    "${ix[@]}" --snapshot "$T/huge-snap.jsonl"
# Unknown domain and parent, a commit id already used, an unknown store.
fails_cleanly 1 "unknown domain 'nope'" "$VSTORE" index "$S" --domain nope --commit x --ops "$I/base.jsonl"
fails_cleanly 1 "unknown parent commit 'nope' in domain 'd'" \
    "$VSTORE" index "$S" --domain d --commit x --parent nope --ops "$I/ops2.jsonl"
fails_cleanly 1 "commit 'c1' already exists in domain 'd'" \
    "$VSTORE" index "$S" --domain d --commit c1 --ops "$I/base.jsonl"
fails_cleanly 1 "commit 'c2' already exists in domain 'd'" \
    "$VSTORE" index "$S" --domain d --commit c2 --parent c1 --ops "$I/ops2.jsonl"
expect 1 "$VSTORE" index "$T/nostore" --domain d --commit c1 --ops "$I/base.jsonl"
one_line_error "nostore"
[ -e "$T/nostore" ] && fail "index made a store directory"
# Usage: no input, two inputs, --table without --sqlite, --sqlite without --table, no --commit.
fails_cleanly 2 "exactly one of --ops, --snapshot, --sqlite and --llm-db" \
    "$VSTORE" index "$S" --domain d --commit x --parent c2
fails_cleanly 2 "exactly one of --ops, --snapshot, --sqlite and --llm-db" \
    "$VSTORE" index "$S" --domain d --commit x --parent c1 --ops "$I/ops2.jsonl" --snapshot "$I/snap2.jsonl"
fails_cleanly 2 "--table" "$VSTORE" index "$S" --domain d --commit x --parent c1 --snapshot "$I/snap2.jsonl" --table t
fails_cleanly 2 "--table" "$VSTORE" index "$S" --domain d --commit x --parent c1 --sqlite "$I/snap2.db"
fails_cleanly 2 "" "$VSTORE" index "$S" --domain d --ops "$I/ops2.jsonl"

# ---- search ----------------------------------------------------------------------------------
Q=$(cat "$I/query.json")
expect 0 "$VSTORE" search "$S" --domain d --commit c1 --vector "$Q" --json
cp "$T/out" "$T/q1.json"
jq_check 'type == "array" and length == 10
    and all(.[]; keys_unsorted == ["id", "distance"] and (.id | type) == "string"
                 and (.distance | type) == "number")
    and ([.[].distance] == ([.[].distance] | sort))' "$T/q1.json" "search --vector --json"
# The same query from a file, and as row 0 of queries.fvecs.
expect 0 "$VSTORE" search "$S" --domain d --commit c1 --vector-file "$I/query.json" --json
same "$T/q1.json" "$T/out" "--vector-file query.json vs --vector"
jq -c '.[0]' "$T/q-d-c1" >"$T/q1-from-many.json"
jq -c . "$T/q1.json" | cmp -s - "$T/q1-from-many.json" || fail "queries.fvecs row 0 differs from query.json"
expect 0 "$VSTORE" search "$S" --domain d --commit c1 --vector-file "$I/queries.npy" --json
same "$T/q-d-c1" "$T/out" "queries.npy vs queries.fvecs"
# Exact search by brute force in jq over base.jsonl: the same ten ids, the same distances.
jq -c --argjson q "$Q" -s '[.[] | {id, distance: ([.vector, $q] | transpose
        | map((.[0] - .[1]) * (.[0] - .[1])) | add)}] | sort_by(.distance) | .[:10]' \
    "$I/base.jsonl" >"$T/brute.json"
expect 0 "$VSTORE" search "$S" --domain d --commit c1 --vector "$Q" --exact --json
jq -e --slurpfile b "$T/brute.json" 'map(.id) == ($b[0] | map(.id))
    and ([., $b[0]] | transpose | all(.[]; (.[0].distance - .[1].distance | fabs)
                                            <= 1e-4 * (.[1].distance + 1)))' "$T/out" >/dev/null ||
    fail "search --exact differs from brute force: $(cat "$T/out") vs $(cat "$T/brute.json")"
# -k, --ef, --exact.
expect 0 "$VSTORE" search "$S" --domain d --commit c2 --vector "$Q" -k 3 --json
jq_check 'length == 3' "$T/out" "-k 3"
expect 0 "$VSTORE" search "$S" --domain d --commit c2 --vector "$Q" -k 3 --ef 1 --json
jq_check 'length == 3 and ([.[].distance] == ([.[].distance] | sort))' "$T/out" "--ef 1"
expect 0 "$VSTORE" search "$S" --domain d --commit c2 --vector "$Q" -k 10 --ef 500 --json
cp "$T/out" "$T/ef500.json"
expect 0 "$VSTORE" search "$S" --domain d --commit c2 --vector "$Q" -k 10 --exact --json
same "$T/ef500.json" "$T/out" "search --ef 500 vs --exact"
# --exact over a file of queries is one search_exact_batch: row 0 answers as the query alone.
expect 0 "$VSTORE" search "$S" --domain d --commit c2 --vector-file "$I/queries.fvecs" -k 10 --exact --json
jq -c '.[0]' "$T/out" >"$T/exact-row0.json"
jq -c . "$T/ef500.json" | cmp -s - "$T/exact-row0.json" ||
    fail "search --exact over queries.fvecs, row 0: $(cat "$T/exact-row0.json") vs $(cat "$T/ef500.json")"
expect 0 "$VSTORE" search "$S" --domain d --commit c2 --vector "$Q" -k 5000 --json
jq_check 'length == 1600 and (map(.id) | unique | length) == 1600' "$T/out" "-k beyond the live set"
# Deleted ids are gone from c2, and still in c1; replaced ids moved.
jq -r '.deleted[]' "$I/changes.json" >"$T/deleted.txt"
jq -r '.[].id' "$T/out" | grep -Fxf "$T/deleted.txt" && fail "c2 returns a deleted id"
DEL=$(head -n1 "$T/deleted.txt")
REP=$(jq -r '.replaced[0]' "$I/changes.json")
expect 0 "$VSTORE" search "$S" --domain d --commit c1 --id "$DEL" -k 1 --json
jq -e --arg x "$DEL" '.[0].id == $x and .[0].distance == 0' "$T/out" >/dev/null ||
    fail "search --id $DEL in c1: $(cat "$T/out")"
expect 1 "$VSTORE" search "$S" --domain d --commit c2 --id "$DEL"
one_line_error "id '$DEL' is not live in commit 'c2'"
expect 0 "$VSTORE" search "$S" --domain d --commit c2 --id "$REP" -k 1 --json
jq -e --arg x "$REP" '.[0].id == $x and .[0].distance == 0' "$T/out" >/dev/null ||
    fail "search --id $REP in c2: $(cat "$T/out")"
expect 0 "$VSTORE" search "$S" --domain d --commit c2 --id 1699 -k 1 --json
jq_check '.[0].id == "1699" and .[0].distance == 0' "$T/out" "search --id of a new id"
# The human table.
expect 0 "$VSTORE" search "$S" --domain d --commit c1 --vector "$Q" -k 3
head -n1 "$T/out" | grep -Eq '^rank  id +distance$' || fail "search table header: $(cat "$T/out")"
[ "$(wc -l <"$T/out")" = 4 ] || fail "search table: not 4 lines: $(cat "$T/out")"
for r in 1 2 3; do
    id=$(jq -r ".[$((r - 1))].id" "$T/q1.json")
    sed -n "$((r + 1))p" "$T/out" | grep -Eq "^ +$r  $id +[0-9.e+-]+$" ||
        fail "search table row $r (id $id): $(cat "$T/out")"
done
expect 0 "$VSTORE" search "$S" --domain d --commit c1 --vector-file "$I/queries.fvecs" -k 2
[ "$(grep -c '^query [0-9]*$' "$T/out")" = 20 ] || fail "table of 20 queries: $(head -c 300 "$T/out")"
# Query errors.
sq=("$VSTORE" search "$S" --domain d --commit c2)
expect 1 "${sq[@]}" --vector '[1, 2, 3]'; one_line_error "query has 3 components; domain 'd' has 8"
expect 1 "${sq[@]}" --vector '[1, 2'; one_line_error "--vector: malformed JSON"
expect 1 "${sq[@]}" --vector '[NaN, 1, 1, 1, 1, 1, 1, 1]'; one_line_error "--vector: malformed JSON"
expect 1 "${sq[@]}" --vector '[1e39, 1, 1, 1, 1, 1, 1, 1]'; one_line_error "too large for a float"
expect 1 "${sq[@]}" --vector '{"a": 1}'; one_line_error "--vector"
# A query whose squared norm passes 2^125 could overflow a distance (fix: it gave "distance":
# null); one just within the limit is answered.
expect 1 "${sq[@]}" --vector '[3e38, 0, 0, 0, 0, 0, 0, 0]' --json
one_line_error "query has a squared norm of 9e+76, above 2^125"
[ -s "$T/out" ] && fail "a refused query printed: $(cat "$T/out")"
expect 1 "${sq[@]}" --exact --vector '[0, 0, 0, 7e18, 0, 0, 0, 0]'; one_line_error "above 2^125"
expect 0 "${sq[@]}" --vector '[0, 0, 0, 6e18, 0, 0, 0, 0]' -k 1 --json
jq_check '.[0].distance > 3e37 and .[0].distance < 4e37' "$T/out" "a query within the norm limit"
expect 1 "${sq[@]}" --vector-file "$T/none.json"; one_line_error "none.json: no such file"
expect 1 "${sq[@]}" --vector-file "$I/bad_nan.fvecs"; one_line_error "bad_nan.fvecs: query 5"
printf '[[1, 2, 3, 4, 5, 6, 7, 8], [1, 2]]' >"$T/q2.json"
expect 1 "${sq[@]}" --vector-file "$T/q2.json"; one_line_error "q2.json: query 1: vector has 2 elements"
expect 1 "${sq[@]}" --id no-such-id; one_line_error "id 'no-such-id' is not live in commit 'c2'"
expect 1 "$VSTORE" search "$S" --domain d --commit nope --vector "$Q"; one_line_error "unknown commit 'nope'"
expect 1 "$VSTORE" search "$S" --domain nope --commit c1 --vector "$Q"; one_line_error "unknown domain 'nope'"
expect 1 "$VSTORE" search "$T/nowhere" --commit c1 --vector "$Q"; one_line_error "nowhere"
expect 2 "${sq[@]}"
expect 2 "${sq[@]}" --vector "$Q" --id 5
expect 2 "${sq[@]}" --vector "$Q" -k 0
expect 2 "$VSTORE" search "$S" --domain d --vector "$Q"
expect 2 "$VSTORE" search "$S" --commit c1 --vector "$Q"

# ---- cosine ----------------------------------------------------------------------------------
expect 0 "$VSTORE" search "$S" --domain cos --commit c1 --id 5 -k 3 --json
jq_check '.[0].id == "5" and (.[0].distance | fabs) < 1e-5 and all(.[]; .distance <= 2)' \
    "$T/out" "cosine search --id"
expect 0 "$VSTORE" search "$S" --domain cos --commit c1 --vector-file "$I/queries.fvecs" --json
jq_check 'all(.[][]; .distance >= -1e-5 and .distance <= 2)' "$T/out" "cosine distances"

# ---- similar, duplicates ---------------------------------------------------------------------
for id in 0 5 17 333 1234 1499 1500 1699; do
    c=c2
    grep -Fxq "$id" "$T/deleted.txt" && c=c1
    expect 0 "$VSTORE" similar "$S" --domain d --commit "$c" --id "$id" -k 10 --json
    jq -e --arg x "$id" 'length == 10 and all(.[]; .id != $x)
        and ([.[].distance] == ([.[].distance] | sort))' "$T/out" >/dev/null ||
        fail "similar --id $id in $c: $(head -c 300 "$T/out")"
done
expect 0 "$VSTORE" similar "$S" --domain d --commit c2 --id 5 -k 5000 --json
jq_check 'length == 1599 and all(.[]; .id != "5")' "$T/out" "similar -k beyond the live set"
expect 0 "$VSTORE" similar "$S" --domain d --commit c2 --id 5 -k 3
head -n1 "$T/out" | grep -Eq '^rank  id +distance$' || fail "similar table: $(cat "$T/out")"
expect 1 "$VSTORE" similar "$S" --domain d --commit c2 --id "$DEL"
one_line_error "id '$DEL' is not live in commit 'c2'"
expect 2 "$VSTORE" similar "$S" --domain d --commit c2

expect 0 "$VSTORE" index "$S" --domain d --commit c3 --parent c2 --ops "$I/dups.jsonl" --json -q
jq_check '.inserted == 2 and .live == 1602' "$T/out" "c3 with dupA, dupB"
expect 0 "$VSTORE" duplicates "$S" --domain d --commit c3 --threshold 0 -q
[ "$(cat "$T/out")" = '{"a":"dupA","b":"dupB","distance":0.0}' ] || fail "duplicates c3: $(cat "$T/out")"
expect 0 "$VSTORE" duplicates "$S" --domain d --commit c3 --threshold 0.5 -q
grep -Fxq '{"a":"dupA","b":"dupB","distance":0.0}' "$T/out" || fail "duplicates 0.5: no dupA/dupB"
jq -e -s 'all(.[]; keys_unsorted == ["a", "b", "distance"] and .a < .b and .distance <= 0.5)' \
    "$T/out" >/dev/null || fail "duplicates lines: $(head -c 300 "$T/out")"
cp "$T/out" "$T/dups-c3.jsonl"
expect 0 "$VSTORE" duplicates "$S" --domain d --commit c2 --threshold 0 -q
grep -q dupA "$T/out" && fail "c2 has dupA"
expect 0 "$VSTORE" similar "$S" --domain d --commit c3 --id dupA -k 2 --json
jq_check '.[0] == {"id": "dupB", "distance": 0}' "$T/out" "similar dupA"
expect 2 "$VSTORE" duplicates "$S" --domain d --commit c3 --threshold -1
expect 2 "$VSTORE" duplicates "$S" --domain d --commit c3

# ---- assign ----------------------------------------------------------------------------------
# A commit that shares an existing commit's graph: no graph file written, the same answers.
expect 0 "$VSTORE" similar "$S" --domain d --commit c2 --id 5 --json
cp "$T/out" "$T/similar-c2.json"
expect 0 "$VSTORE" search "$S" --domain d --commit c2 --vector-file "$I/queries.fvecs" --exact --json
cp "$T/out" "$T/exact-c2.json"
(cd "$S" && ls -A) >"$T/files.before"
expect 0 "$VSTORE" assign "$S" --domain d --source c2 --target c2a -q
grep -q "^commit 'c2a' of domain 'd' on 'c2': 0 inserted, 0 deleted, 0 replaced, 1600 unchanged$" \
    "$T/out" || fail "assign summary: $(cat "$T/out")"
grep -Eq "^  1600 live, [0-9]+ tombstones; shares the graph of 'c2' \(graph file d@c2\.hnsw, [0-9.]+ MB\), no graph file written; in [0-9.]+ s$" \
    "$T/out" || fail "assign live line: $(cat "$T/out")"
[ -s "$T/err" ] && fail "assign -q wrote to stderr: $(head -c 300 "$T/err")"
# On a commit that itself shares: the graph's owner is still c2.
expect 0 "$VSTORE" assign "$S" --domain d --source c2a --target c2b --json -q
jq -e --slurpfile c2 "$T/c2.json" '.domain == "d" and .commit == "c2b" and .parent == "c2a"
    and .graph_owner == "c2" and .graph_file == "d@c2.hnsw" and .graph_bytes == $c2[0].graph_bytes
    and .inserted == 0 and .deleted == 0 and .replaced == 0 and .live == 1600
    and .tombstones == $c2[0].tombstones and .unchanged == 1600 and (.seconds | type) == "number"' \
    "$T/out" >/dev/null || fail "assign --json: $(head -c 600 "$T/out")"
(cd "$S" && ls -A) >"$T/files.after"
same "$T/files.before" "$T/files.after" "assign added or removed a file in the store"
for c in c2a c2b; do
    search_all "$S" d "$c" "$T/q-d-$c"
    same "$T/q-d-c2" "$T/q-d-$c" "search of assigned $c vs its source c2"
    expect 0 "$VSTORE" similar "$S" --domain d --commit "$c" --id 5 --json
    same "$T/similar-c2.json" "$T/out" "similar of assigned $c vs c2"
done
expect 0 "$VSTORE" search "$S" --domain d --commit c2b --vector-file "$I/queries.fvecs" --exact --json
same "$T/exact-c2.json" "$T/out" "exact search of c2b vs c2"
expect 0 "$VSTORE" log "$S" --domain d --commit c2b --json
jq_check 'map(.commit) == ["c2b", "c2a", "c2", "c1"] and map(.graph_owner) == ["c2", "c2", null, null]
    and (.[0:2] | all(.[]; .graph_file == "d@c2.hnsw" and .live == 1600 and .inserted == 0))' \
    "$T/out" "log of assigned commits"
expect 0 "$VSTORE" log "$S" --domain d --commit c2b
grep -Eq '^c2b +c2a +[0-9T:Z-]+ +\+0 -0 ~0 +1600 +[0-9]+  shares the graph of c2$' "$T/out" ||
    fail "log row c2b: $(cat "$T/out")"
grep -Eq '^c2a +c2 +[0-9T:Z-]+ +\+0 -0 ~0 +1600 +[0-9]+  shares the graph of c2$' "$T/out" ||
    fail "log row c2a: $(cat "$T/out")"
grep -Eq '^c2 +c1 .*[0-9]( +compacted)?$' "$T/out" || fail "log row c2: $(cat "$T/out")"
# Errors: exit 1 with one line naming what is wrong, or 2 for usage; the store unchanged.
as=("$VSTORE" assign "$S" -q)
fails_cleanly 1 "unknown domain 'nope'" "${as[@]}" --domain nope --source c2 --target x
fails_cleanly 1 "unknown commit 'nope' in domain 'd'" "${as[@]}" --domain d --source nope --target x
fails_cleanly 1 "commit 'c1' already exists in domain 'd'" "${as[@]}" --domain d --source c2 --target c1
fails_cleanly 1 "commit 'c2' already exists in domain 'd'" "${as[@]}" --domain d --source c2 --target c2
fails_cleanly 1 "commit 'c2a' already exists in domain 'd'" "${as[@]}" --domain d --source c2 --target c2a
fails_cleanly 1 "commit name is empty" "${as[@]}" --domain d --source c2 --target ""
fails_cleanly 1 "unknown commit 'c2' in domain 'cos'" "${as[@]}" --domain cos --source c2 --target x
fails_cleanly 2 "" "${as[@]}" --domain d --source c2
fails_cleanly 2 "" "${as[@]}" --domain d --target x
fails_cleanly 2 "" "${as[@]}" --source c2 --target x
fails_cleanly 2 "" "${as[@]}" --domain d --source c2 --target x --no-such-flag
expect 1 "$VSTORE" assign "$T/nostore" --domain d --source c2 --target x; one_line_error "nostore"
[ -e "$T/nostore" ] && fail "assign made a store directory"

# ---- pack ------------------------------------------------------------------------------------
P="$T/packs"
mkdir "$P"
expect 0 "$VSTORE" pack "$S" "$P/c2" --domain d --commit c2 -q
grep -q "^packed commit 'c2' of domain 'd' into '$P/c2': 1600 live vectors" "$T/out" ||
    fail "pack output: $(cat "$T/out")"
expect 0 "$VSTORE" pack "$S" "$P/c2.tar.xz" --domain d --commit c2 -q --json
jq -e --arg p "$P/c2.tar.xz" '.path == $p and .count == 1600 and .commit == "c2" and .bytes > 0' \
    "$T/out" >/dev/null || fail "pack --json: $(head -c 600 "$T/out")"
expect 0 "$VSTORE" pack "$S" "$P/c2.tar.zst" --domain d --commit c2 -q
expect 0 "$VSTORE" pack "$S" "$P/c3.tar.zst" --domain d --commit c3 -q
for m in config embeddings vectors ids; do
    [ -f "$P/c2/$m" ] || fail "pack directory lacks $m"
done
[ "$(find "$P/c2" -mindepth 1 | wc -l)" = 4 ] || fail "pack directory holds more: $(ls -A "$P/c2")"
printf 'c2/config\nc2/embeddings\nc2/vectors\nc2/ids\n' >"$T/members"
tar -tJf "$P/c2.tar.xz" | grep -v '^c2/$' >"$T/out" || fail "tar -tJf failed"
same "$T/members" "$T/out" "members of c2.tar.xz"
tar --zstd -tf "$P/c2.tar.zst" | grep -v '^c2/$' >"$T/out" || fail "tar --zstd -tf failed"
same "$T/members" "$T/out" "members of c2.tar.zst"
tar -tvJf "$P/c2.tar.xz" | grep -v '^d' | grep -qv '^-rw-r--r-- ' && fail "members not 0644 files: $(tar -tvJf "$P/c2.tar.xz")"
# The config as jq reads it, the same in the directory and the archives.
jq . "$P/c2/config" >"$T/config.json" || fail "jq cannot read the config"
jq_check '.format == "vstore-pack" and .format_version == 1 and .count == 1600 and .domain == "d"
    and .commit == "c2" and .parent == "c1" and .dimensions == 8 and .metric == "l2"
    and .operations == {"inserted": 200, "deleted": 100, "replaced": 50}
    and (.files | keys) == ["embeddings", "ids", "vectors"]' \
    "$T/config.json" "pack config"
[ "$(jq .files.vectors.bytes "$T/config.json")" = "$(stat -c %s "$P/c2/vectors")" ] ||
    fail "config's vectors bytes differ from the file"
mkdir "$T/x-xz" "$T/x-zst"
{ tar -xJf "$P/c2.tar.xz" -C "$T/x-xz" && tar --zstd -xf "$P/c2.tar.zst" -C "$T/x-zst"; } ||
    fail "tar cannot extract the packs"
for x in x-xz x-zst; do
    for m in embeddings ids; do
        cmp -s "$P/c2/$m" "$T/$x/c2/$m" || fail "$x: $m differs from the directory's"
    done
    # The vector file's header holds its creation time: the vectors (from 8192 on) are the same.
    cmp -s <(tail -c +8193 "$P/c2/vectors") <(tail -c +8193 "$T/$x/c2/vectors") ||
        fail "$x: the vectors differ from the directory's"
done
# Every pack answers as the commit in the store.
expect 0 "$VSTORE" log "$S" --domain d --commit c2 --json
jq -c '.[0] | del(.graph_file, .graph_bytes)' "$T/out" >"$T/log-store.json"
expect 0 "$VSTORE" domain list "$S" --json
jq -c '.[] | select(.name == "d") | del(.commits, .created)' "$T/out" >"$T/domain-store.json"
expect 0 "$VSTORE" similar "$S" --domain d --commit c2 --id 5 --json
cp "$T/out" "$T/similar-store.json"
expect 0 "$VSTORE" search "$S" --domain d --commit c2 --vector-file "$I/queries.fvecs" --exact --json
cp "$T/out" "$T/exact-store.json"
for p in "$P/c2" "$P/c2.tar.xz" "$P/c2.tar.zst"; do
    search_all "$p" d c2 "$T/q-pack"
    same "$T/q-d-c2" "$T/q-pack" "search of $p"
    expect 0 "$VSTORE" search "$p" --vector-file "$I/queries.fvecs" --json
    same "$T/q-d-c2" "$T/out" "search of $p without --domain/--commit"
    expect 0 "$VSTORE" search "$p" --vector-file "$I/queries.fvecs" --exact --json
    same "$T/exact-store.json" "$T/out" "search --exact of $p"
    expect 0 "$VSTORE" similar "$p" --id 5 --json
    same "$T/similar-store.json" "$T/out" "similar of $p"
    expect 0 "$VSTORE" log "$p" --json
    jq_check 'length == 1' "$T/out" "log of $p"
    jq -c '.[0] | del(.graph_file, .graph_bytes)' "$T/out" | cmp -s - "$T/log-store.json" ||
        fail "log of $p: $(cat "$T/out")"
    expect 0 "$VSTORE" log "$p"
    sed -n 2p "$T/out" | cmp -s - <(sed -n 2p "$T/log-c2.txt") || fail "log text of $p: $(cat "$T/out")"
    grep -q "^(the pack holds only commit 'c2')$" "$T/out" || fail "log of $p: no note"
    expect 0 "$VSTORE" domain list "$p" --json
    jq_check 'length == 1 and .[0].commits == 1' "$T/out" "domain list of $p"
    jq -c '.[0] | del(.commits, .created)' "$T/out" | cmp -s - "$T/domain-store.json" ||
        fail "domain list of $p: $(cat "$T/out")"
    expect 1 "$VSTORE" search "$p" --commit c1 --id 5; one_line_error "holds commit 'c2', not 'c1'"
    expect 1 "$VSTORE" search "$p" --domain e --id 5; one_line_error "holds domain 'd', not 'e'"
done
expect 0 "$VSTORE" duplicates "$P/c3.tar.zst" --threshold 0.5 -q
same "$T/dups-c3.jsonl" "$T/out" "duplicates of the c3 pack"
# Packing over anything that exists fails and leaves it alone; so does an unknown commit.
(cd "$P" && find . -type f | LC_ALL=C sort | xargs sha256sum; ls -lA) >"$T/packs.before"
# A pack holds one commit and takes no other.
fails_cleanly 1 "'$P/c2' is a pack, not a store" "$VSTORE" assign "$P/c2" --domain d --source c2 --target x -q
fails_cleanly 1 "'$P/c2.tar.xz' is a pack, not a store" \
    "$VSTORE" assign "$P/c2.tar.xz" --domain d --source c2 --target x -q
fails_cleanly 1 "'$P/c2' exists" "$VSTORE" pack "$S" "$P/c2" --domain d --commit c1 -q
fails_cleanly 1 "'$P/c2.tar.xz' exists" "$VSTORE" pack "$S" "$P/c2.tar.xz" --domain d --commit c1 -q
: >"$P/empty.tar.zst"
fails_cleanly 1 "'$P/empty.tar.zst' exists" "$VSTORE" pack "$S" "$P/empty.tar.zst" --domain d --commit c1 -q
rm "$P/empty.tar.zst"
fails_cleanly 1 "unknown commit 'nope'" "$VSTORE" pack "$S" "$P/new.tar.xz" --domain d --commit nope -q
fails_cleanly 1 "unknown commit 'nope'" "$VSTORE" pack "$S" "$P/newdir" --domain d --commit nope -q
fails_cleanly 1 "unknown domain 'nope'" "$VSTORE" pack "$S" "$P/new.tar.zst" --domain nope --commit c1 -q
fails_cleanly 2 "" "$VSTORE" pack "$S" "$P/new2.tar.xz" --domain d -q
(cd "$P" && find . -type f | LC_ALL=C sort | xargs sha256sum; ls -lA) >"$T/packs.after"
same "$T/packs.before" "$T/packs.after" "a failed pack changed the packs directory"

# ---- Hostile and damaged archives ------------------------------------------------------------
# Each is read from a working directory two levels down ($W/sub), with TMPDIR pointing at an
# empty directory: nothing may appear in either, nor beside them, nor at an absolute path.
H="$T/hostile"
W="$T/work"
TMPD="$T/tmp"
ABS="$T/abs-evil"
mkdir -p "$H/src" "$W/sub" "$TMPD"
cp -r "$T/x-xz/c2" "$H/src/p"
chmod -R u+w "$H/src/p"
echo evil >"$H/src/p/evil"
mk() {  # mk NAME TAR-ARGS...: a .tar.xz in $H from $H/src
    tar -C "$H/src" -cJf "$H/$1" "${@:2}" 2>/dev/null || fail "cannot make $1"
}
mk dotdot.tar.xz --transform 's|^p/evil$|../evil|' p/config p/embeddings p/evil p/vectors p/ids
mk dotdot2.tar.xz --transform 's|^p/vectors$|p/../../vectors|' p/config p/embeddings p/vectors p/ids
mk absolute.tar.xz -P --transform "s|^p/evil\$|$ABS|" p/config p/evil p/embeddings p/vectors p/ids
tar -tPJf "$H/absolute.tar.xz" | grep -Fxq "$ABS" || fail "absolute.tar.xz has no absolute entry"
tar -tJf "$H/dotdot.tar.xz" 2>/dev/null | grep -Fxq "../evil" || fail "dotdot.tar.xz has no ../evil"
mkdir "$H/src/q"
cp "$H/src/p/config" "$H/src/p/embeddings" "$H/src/p/ids" "$H/src/q/"
ln -s "$ABS" "$H/src/q/vectors"
mk symlink.tar.xz --transform 's|^q/|p/|' q/config q/embeddings q/vectors q/ids
tar -tvJf "$H/symlink.tar.xz" | grep -q '^l.* p/vectors -> ' || fail "symlink.tar.xz has no symlink"
mk extra.tar.xz p/config p/embeddings p/vectors p/ids p/evil
mk notfirst.tar.xz p/embeddings p/config p/vectors p/ids
mk missing.tar.xz p/config p/embeddings p/vectors
ln -s "$T/abs-dir" "$H/src/linkdir"
mk linkdir.tar.xz --transform 's|^linkdir$|p|' linkdir p/config p/embeddings p/vectors p/ids
mk owner.tar.xz --owner=evil:666 --group=evil:666 --mode=u+s p/config p/embeddings p/vectors p/ids
{ tar -C "$H/src" -cf "$H/twice.tar" p/config p/embeddings p/vectors p/ids &&
    tar -C "$H/src" -rf "$H/twice.tar" p/vectors && xz -k "$H/twice.tar"; } || fail "cannot make twice.tar.xz"
cp "$P/c2.tar.xz" "$H/cut.tar.xz"
truncate -s $(($(stat -c %s "$H/cut.tar.xz") / 2)) "$H/cut.tar.xz"
cp "$P/c2.tar.zst" "$H/cut.tar.zst"
truncate -s $(($(stat -c %s "$H/cut.tar.zst") / 2)) "$H/cut.tar.zst"
cp -r "$P/c2" "$H/flipped"
chmod -R u+w "$H/flipped"
flip_byte "$H/flipped/vectors" $(($(stat -c %s "$H/flipped/vectors") / 2))

hostile() {  # hostile ARCHIVE FRAGMENT
    expect 1 env -C "$W/sub" TMPDIR="$TMPD" "$VSTORE" search "$H/$1" --id 5 -k 1
    one_line_error "$1.*$2"
    [ -z "$(ls -A "$W/sub")" ] || fail "$1: files in the working directory: $(ls -A "$W/sub")"
    [ "$(ls -A "$W")" = sub ] || fail "$1: files beside the working directory: $(ls -A "$W")"
    [ -e "$W/evil" ] || [ -e "$T/evil" ] || [ -e "$W/vectors" ] || [ -e "$ABS" ] || [ -e "$T/abs-dir" ] &&
        fail "$1: a file appeared outside"
    [ -z "$(ls -A "$TMPD")" ] || fail "$1: left behind in TMPDIR: $(ls -A "$TMPD")"
}
hostile dotdot.tar.xz "'../evil'"
hostile dotdot2.tar.xz "'p/../../vectors'"
hostile absolute.tar.xz "absolute"
hostile symlink.tar.xz "'p/vectors' is a link"
hostile extra.tar.xz "'p/evil' is not a pack file"
hostile notfirst.tar.xz "config is not the first"
hostile missing.tar.xz "no 'ids'"
hostile linkdir.tar.xz "'p' is a link"
hostile twice.tar.xz "'p/vectors' appears twice"
hostile cut.tar.xz ""
hostile cut.tar.zst ""
hostile flipped "vectors"
expect 1 "$VSTORE" inspect "$H/flipped"; one_line_error "vectors"
expect 1 "$VSTORE" inspect "$H/cut.tar.xz"; one_line_error "cut.tar.xz"
# Owners and modes of members do not matter; nothing is left in TMPDIR after a good read.
expect 0 env -C "$W/sub" TMPDIR="$TMPD" "$VSTORE" search "$H/owner.tar.xz" --id 5 -k 1 --json
jq_check '.[0].id == "5"' "$T/out" "owner.tar.xz"
expect 0 env -C "$W/sub" TMPDIR="$TMPD" "$VSTORE" search "$P/c2.tar.zst" --id 5 -k 1 --json
[ -z "$(find "$TMPD" "$W/sub" -mindepth 1)" ] ||
    fail "a good read left files: $(find "$TMPD" "$W/sub" -mindepth 1)"

# ---- a store written by an older vstore ------------------------------------------------------
# One whose vectors pass the norm limit: vector 0 of its file is overwritten with FLT_MAX
# components, its checksum entry to match (mapped serving checks checksums, not norms). Its
# distances overflow; JSON gets a number, never null (fix), and the vector cannot be a query.
L="$T/legacy"
expect 0 "$VSTORE" init "$L"
expect 0 "$VSTORE" domain create "$L" d --dim 8
printf '%s\n' '{"id": "huge", "op": "Inserted", "vector": [1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5]}' \
    '{"id": "small", "op": "Inserted", "vector": [0, 0, 0, 0, 0, 0, 0, 0]}' >"$T/legacy.jsonl"
expect 0 "$VSTORE" index "$L" --domain d --commit c1 --ops "$T/legacy.jsonl" -q
[ "$(od -An -tx1 -j 8192 -N 4 "$L/d.vecs" | tr -d ' ')" = 0000c03f ] ||
    fail "vector 0 of the legacy store is not at byte 8192 of d.vecs"
expect 0 "$MAKE_INPUTS" --huge-vector "$L/d.vecs" 0
expect 0 "$VSTORE" search "$L" --domain d --commit c1 --vector '[-1, 0, 0, 0, 0, 0, 0, 0]' -k 2 --json
jq_check '.[0] == {"id": "small", "distance": 1} and .[1].id == "huge"
    and .[1].distance > 3.4e38' "$T/out" "an overflowed distance in JSON"
expect 0 "$VSTORE" similar "$L" --domain d --commit c1 --id small --json
jq_check '.[0].id == "huge" and .[0].distance > 3.4e38' "$T/out" \
    "an overflowed distance in similar --json"
expect 1 "$VSTORE" search "$L" --domain d --commit c1 --id huge
one_line_error "query has a squared norm of 9.263e+77, above 2^125"
# One that holds an id that is not UTF-8: "~LEGACY~" (which sorts last, as its replacement
# does) is renamed in the catalog FF FE "LEGACY", sealed as vstore seals. JSON output is whole, with U+FFFD for
# each invalid byte (fix: it stopped part-way at json.exception.type_error.316).
printf '%s\n' '{"id": "~LEGACY~", "op": "Inserted", "vector": [0, 0, 0, 0, 0, 0, 0, 0.5]}' \
    >"$T/legacy2.jsonl"
expect 0 "$VSTORE" index "$L" --domain d --commit c2 --parent c1 --ops "$T/legacy2.jsonl" -q
expect 0 "$MAKE_INPUTS" --rename-id "$L" d '~LEGACY~' $'\xff\xfeLEGACY'
legacy='"\ufffd\ufffdLEGACY"'
expect 0 "$VSTORE" search "$L" --domain d --commit c2 --vector '[0, 0, 0, 0, 0, 0, 0, 0.5]' -k 2 --json
jq_check '.[0] == {"id": '"$legacy"', "distance": 0} and .[1].id == "small"' "$T/out" \
    "search --json of a non-UTF-8 id"
expect 0 "$VSTORE" similar "$L" --domain d --commit c2 --id small -k 1 --json
jq_check '. == [{"id": '"$legacy"', "distance": 0.25}]' "$T/out" "similar --json of a non-UTF-8 id"
expect 0 "$VSTORE" similar "$L" --domain d --commit c2 --id $'\xff\xfeLEGACY' -k 1 --json
jq_check '. == [{"id": "small", "distance": 0.25}]' "$T/out" "similar --id of a non-UTF-8 id"
expect 0 "$VSTORE" duplicates "$L" --domain d --commit c2 --threshold 0.5
jq_check '[.a, .b] | sort == ["small", '"$legacy"']' "$T/out" "duplicates of a non-UTF-8 id"
expect 0 "$VSTORE" search "$L" --domain d --commit c2 --vector '[0, 0, 0, 0, 0, 0, 0, 0.5]' -k 1
grep -q $'LEGACY' "$T/out" || fail "search table of a non-UTF-8 id: $(cat "$T/out")"
# A snapshot that leaves it out deletes it; it cannot be put again.
printf '%s\n' '{"id": "small", "vector": [0, 0, 0, 0, 0, 0, 0, 0]}' >"$T/legacy-snap.jsonl"
expect 0 "$VSTORE" index "$L" --domain d --commit c3 --parent c2 --snapshot "$T/legacy-snap.jsonl" --json -q
[ "$(counts "$T/out")" = '{"inserted":0,"deleted":2,"replaced":0,"live":1}' ] ||
    fail "a snapshot on a store with a non-UTF-8 id: $(counts "$T/out") ($(cat "$T/err"))"

# ---- inspect ---------------------------------------------------------------------------------
expect 0 "$VSTORE" inspect --json "$S"
jq_check '.kind == "store" and .domain_count == 7 and
    (.domains[] | select(.name == "d") | [.commits[].commit] | sort)
        == ["c1", "c2", "c2a", "c2b", "c2rows", "c2snap", "c3"]
    and .graph_files.shared_commits == 6 and .graph_files.v1.files == 0
    and .graph_files.files == .graph_files.full.files + .graph_files.delta.files
    and ([.domains[].commits[] | select(.graph_owner != null) | .commit] | sort)
        == ["c2a", "c2b", "c3", "c3", "c3", "c3"]
    and all(.domains[].commits[]; .graph_format == 2 and (.graph_chain | length) == .chain_depth + 1
        and .graph_chain[-1].file == .graph_file
        and ((.graph_kind == "delta") == (.chain_depth > 0)))' \
    "$T/out" "inspect store"
expect 0 "$VSTORE" inspect --verify "$S"
grep -Eq "^verify +ok" "$T/out" || fail "inspect --verify store: $(tail -n 3 "$T/out")"
# --verify cross-checks the catalog against the graph files (spec/consistency.md): on a copy
# whose keys table has lost the key of id "5" (its ids entry stays, every seal and checksum
# holds), it fails, naming K2, the domain and each commit whose graph holds the key.
K="$T/forgotten-key"
cp -a "$S" "$K"
expect 0 "$MAKE_INPUTS" --forget-key "$K" d 5
expect 1 "$VSTORE" inspect --verify "$K"
grep -Eq "^  domain 'd', commit 'c1': K2: graph file 'd@c1.hnsw' gives node [0-9]+ key [0-9]+, which the catalog's keys table does not know$" \
    "$T/out" || fail "inspect --verify of a forgotten key: $(grep -A3 '^verify' "$T/out")"
grep -q "^vstore: verify failed: domain 'd', commit '" "$T/err" ||
    fail "inspect --verify of a forgotten key: error line $(cat "$T/err")"
expect 1 "$VSTORE" inspect --verify --json "$K"
jq_check '.verify.ok == false and ([.verify.problems[] | select(.what | startswith("K2: "))
    | .where] | index("domain '"'d'"', commit '"'c1'"'") != null)' "$T/out" "inspect --verify --json of a forgotten key"
for p in "$P/c2" "$P/c2.tar.xz" "$P/c2.tar.zst"; do
    expect 0 "$VSTORE" inspect --json "$p"
    jq_check '.kind == "pack" and .config.count == 1600 and .config.commit == "c2"
        and .config.parent == "c1" and .config.domain == "d" and (has("verify") | not)' "$T/out" "inspect $p"
    expect 0 "$VSTORE" inspect --verify --json "$p"
    jq_check '.verify.ok == true and .verify.problems == []' "$T/out" "inspect --verify $p"
    expect 0 "$VSTORE" inspect --verify "$p"
    grep -Eq "^kind +pack \((directory|tar.xz|tar.zst), format version 1\)$" "$T/out" ||
        fail "inspect $p: kind line: $(head -n 3 "$T/out")"
    grep -Eq "^count +1600 live, [0-9]+ tombstones$" "$T/out" || fail "inspect $p: count line"
    grep -Eq "^verify +ok" "$T/out" || fail "inspect --verify $p: $(tail -n 3 "$T/out")"
done
expect 0 "$VSTORE" inspect --json "$P/c2"
jq_check '.pack_kind == "directory"' "$T/out" "inspect: pack kind directory"
expect 0 "$VSTORE" inspect --json "$P/c2.tar.xz"
jq_check '.pack_kind == "tar.xz" and .archive_bytes > 0' "$T/out" "inspect: pack kind tar.xz"

# ---- drop, gc, du ----------------------------------------------------------------------------
# On a copy of the store: drop c1 (c2's delta builds on its file, which stays), then gc.
L="$T/lifecycle"
cp -a "$S" "$L"
(cd "$L" && ls -A) >"$T/files.before"
expect 0 "$VSTORE" drop "$L" --domain d --commit c1 --dry-run --json
jq_check '.dry_run == true and .domain == "d" and .dropped == ["c1"] and (.cut | index("c2") != null)
    and .removed == [] and (.kept | map(.name)) == ["d@c1.hnsw"] and .bytes_freed == 0' "$T/out" "drop --dry-run --json"
(cd "$L" && ls -A) >"$T/files.after"
same "$T/files.before" "$T/files.after" "drop --dry-run changed the store"
expect 1 "$VSTORE" drop "$L" --domain d --commit c1 --commit no-such-commit
one_line_error "unknown commit 'no-such-commit' in domain 'd'; nothing was dropped"
expect 1 "$VSTORE" drop "$L" --domain nope --commit c1
one_line_error "unknown domain 'nope'"
expect 2 "$VSTORE" drop "$L" --domain d
expect 0 "$VSTORE" drop "$L" --domain d --commit c1
grep -q "^domain 'd': dropped 1 commit ('c1'); freed 0 B in 0 graph files$" "$T/out" ||
    fail "drop summary: $(cat "$T/out")"
grep -q "^  history cut at .*'c2'.*: the parent is gone$" "$T/out" || fail "drop cut line: $(cat "$T/out")"
search_all "$L" d c2 "$T/q-lc-c2"
same "$T/q-d-c2" "$T/q-lc-c2" "search of c2 after dropping its parent c1"
expect 0 "$VSTORE" log "$L" --domain d --commit c2 --json
jq_check 'length == 1 and .[0].commit == "c2" and .[0].parent == "c1" and .[0].parent_dropped == true' \
    "$T/out" "log after drop"
expect 0 "$VSTORE" log "$L" --domain d
grep -q "parent dropped: history cut here" "$T/out" || fail "log shows no cut: $(cat "$T/out")"
expect 1 "$VSTORE" search "$L" --domain d --commit c1 --vector-file "$I/queries.fvecs"
one_line_error "unknown commit 'c1'"
expect 0 "$VSTORE" du "$L" --json
jq_check '(.domains | length) >= 1 and (.domains[] | select(.domain == "d") |
    .vectors == .head_vectors + .history_vectors + .unreferenced_vectors and .base_only_graph_files == 1
    and .full_graph_files >= 1 and .vector_file_bytes > 0) and .catalog_bytes > 0' "$T/out" "du --json"
expect 0 "$VSTORE" du "$L" --domain d
grep -q "^domain 'd': " "$T/out" || fail "du text: $(cat "$T/out")"
grep -q "of them bases only" "$T/out" || fail "du shows no base-only file: $(cat "$T/out")"
expect 2 "$VSTORE" gc "$L"
printf '# kept by the CI job\nc2\n\nnot-a-commit\n' >"$T/keep.txt"
(cd "$L" && ls -A) >"$T/files.before"
expect 0 "$VSTORE" gc "$L" --keep "$T/keep.txt" --keep-last 1 --dry-run --json
cp "$T/out" "$T/gc-plan.json"
jq_check '.dry_run == true and .keep_unknown == ["not-a-commit"] and (.domains | length) >= 1
    and (.domains[] | select(.domain == "d") | (.dropped | index("c2")) == null)' "$T/out" "gc --dry-run --json"
(cd "$L" && ls -A) >"$T/files.after"
same "$T/files.before" "$T/files.after" "gc --dry-run changed the store"
expect 0 "$VSTORE" gc "$L" --keep "$T/keep.txt" --keep-last 1 --json
jq --slurpfile plan "$T/gc-plan.json" -e '.dry_run == false and .bytes_freed == $plan[0].bytes_freed
    and (.domains | map(.dropped)) == ($plan[0].domains | map(.dropped))' "$T/out" >/dev/null ||
    fail "gc did not do what its dry run said: $(head -c 600 "$T/out")"
grep -q "not-a-commit" "$T/err" || fail "gc did not name the unknown kept commit: $(cat "$T/err")"
search_all "$L" d c2 "$T/q-lc-c2"
same "$T/q-d-c2" "$T/q-lc-c2" "search of c2 after gc"
expect 0 "$VSTORE" vacuum "$L" --json -q
jq_check 'length >= 1 and (.[] | select(.domain == "d") | (.rewritten | type) == "boolean"
    and .vectors_after <= .vectors_before and .vector_file_bytes_after <= .vector_file_bytes_before
    and (.vector_file | test("^d(@[0-9]+)?\\.vecs$")))
    and (.[0] | keys_unsorted) == ["domain", "rewritten", "vector_file", "vectors_before",
        "vectors_after", "vector_file_bytes_before", "vector_file_bytes_after", "graph_files",
        "graph_bytes_before", "graph_bytes_after"]' "$T/out" "vacuum --json"
search_all "$L" d c2 "$T/q-lc-c2"
same "$T/q-d-c2" "$T/q-lc-c2" "search of c2 after vacuum"
expect 0 "$VSTORE" du "$L" --domain d --json
jq_check '.domains[0].unreferenced_vectors == 0 and .domains[0].orphan_graph_files == 0' "$T/out" \
    "du after vacuum"
expect 0 "$VSTORE" vacuum "$L" --domain d
grep -q "^domain 'd': nothing to reclaim" "$T/out" || fail "second vacuum: $(cat "$T/out")"
expect 1 "$VSTORE" vacuum "$L" --domain nope
one_line_error "unknown domain 'nope'"
expect 0 "$VSTORE" inspect --verify "$L"

# ---- --max-unpacked --------------------------------------------------------------------------
# The extraction bound of a pack archive (spec/pack.md, "The extraction bound").
expect 1 "$VSTORE" log "$P/c2.tar.xz" --max-unpacked 64K
one_line_error "bound of 65536 bytes"
expect 0 "$VSTORE" log "$P/c2.tar.xz" --max-unpacked 1G
expect 1 "$VSTORE" search "$P/c2.tar.zst" --vector-file "$I/queries.fvecs" --max-unpacked 1K
one_line_error "bound of 1024 bytes"
expect 1 "$VSTORE" inspect "$P/c2.tar.xz" --max-unpacked 1K
grep -q "bound of 1024 bytes" "$T/err" || fail "inspect --max-unpacked: $(cat "$T/err")"

# ---- crash leftovers ------------------------------------------------------------------------
# A writer killed half-way leaves temporary files in a store, or a staging directory beside a
# pack; the next writer removes them and says so on stderr (spec/lifecycle.md, "Crash
# leftovers"; spec/pack.md, "Staging directories").
K="$T/killed"
expect 0 "$VSTORE" init "$K"
expect 0 "$VSTORE" domain create "$K" d --dim 8
(VSTORE_CRASH_AT=graph-half-written "$VSTORE" index "$K" --domain d --commit c1 --ops "$I/base.jsonl" \
    -q; exit $?) >/dev/null 2>&1 && fail "index did not die at graph-half-written"
[ "$(find "$K" -maxdepth 1 -name '.tmp-*' | wc -l)" = 1 ] || fail "no temporary file left: $(ls -A "$K")"
expect 0 "$VSTORE" index "$K" --domain d --commit c1 --ops "$I/base.jsonl" -q
grep -Eq "^vstore: removed 1 stale temporary file \([0-9.]+ [kM]?B\) left by crashed writers$" "$T/err" ||
    fail "index after a crash: $(cat "$T/err")"
[ "$(find "$K" -maxdepth 1 -name '.tmp-*' | wc -l)" = 0 ] || fail "temporary file kept: $(ls -A "$K")"
expect 0 "$VSTORE" index "$K" --domain d --commit c2 --parent c1 --ops "$I/ops2.jsonl" -q
[ -s "$T/err" ] && fail "nothing to remove, yet: $(cat "$T/err")"
KP="$T/killed-packs"
mkdir -p "$KP"
for out in p1 p2.tar.zst; do
    (VSTORE_CRASH_AT=pack-staged "$VSTORE" pack "$K" "$KP/$out" --domain d --commit c2 -q; exit $?) \
        >/dev/null 2>&1 && fail "pack did not die at pack-staged"
done
# The second killed writer removed the first one's directory already.
[ "$(find "$KP" -mindepth 1 -maxdepth 1 -name '.vstore-pack-staging-*' | wc -l)" = 1 ] ||
    fail "staging directories left: $(ls -A "$KP")"
expect 0 "$VSTORE" pack "$K" "$KP/p.tar.xz" --domain d --commit c2 -q
grep -Eq "^vstore: removed 1 stale staging directory \([0-9.]+ [kM]?B\) left by crashed pack writers$" \
    "$T/err" || fail "pack after a crash: $(cat "$T/err")"
[ "$(ls -A "$KP")" = "p.tar.xz" ] || fail "pack directory after cleanup: $(ls -A "$KP")"

# ---- help and usage --------------------------------------------------------------------------
for cmd in init domain "domain create" "domain list" index assign search similar duplicates log inspect pack drop gc du vacuum; do
    # shellcheck disable=SC2086
    expect 0 "$VSTORE" $cmd --help
    grep -q "Example" "$T/out" || fail "'vstore $cmd --help' has no example"
done
expect 0 "$VSTORE" --help
expect 2 "$VSTORE" frobnicate
expect 2 "$VSTORE"
expect 2 "$VSTORE" domain
expect 2 "$VSTORE" search "$S" --domain d --commit c1 --no-such-flag

finish "cli commands"
