#!/bin/bash
# The SQLite extension through Debian's sqlite3 command line (spec/sql.md): every function's
# answers equal the vstore command line's on the same store, vstore_index after inserts,
# updates and deletes in the table makes a commit of exactly those operations, a pack answers
# as its commit, and bad blobs and arguments are one-line SQL errors that change nothing.
# sqlite-utils --load-extension loads it once too.
# Usage: test_sql.sh VSTORE EXTENSION
set -u
VSTORE=$1
EXT=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# shellcheck source=../cli/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"

DB="$T/entries.db"
S="$T/store"
# q SQL...: runs SQL in $DB with the extension loaded; stdout in $T/out, stderr in $T/err.
q() { sqlite3 -cmd ".load $EXT" "$DB" "$@"; }
# vector_of ID: the JSON array of an entry's embedding, for the command line's --vector.
vector_of() { q "select vstore_decode(embedding) from entries where id = $1"; }

# ---- the blob format: datasette-faiss's own example -------------------------------------------
expect 0 q "select hex(vstore_encode('[2.4, 4.1, 1.8]'))"
[ "$(cat "$T/out")" = 9A991940333383406666E63F ] || fail "vstore_encode: $(cat "$T/out")"
expect 0 q "select vstore_decode(X'9A991940333383406666E63F')"
[ "$(cat "$T/out")" = "[2.4,4.1,1.8]" ] || fail "vstore_decode: $(cat "$T/out")"
expect 0 q "select vstore_encode(NULL) is NULL and vstore_decode(NULL) is NULL"
[ "$(cat "$T/out")" = 1 ] || fail "NULL is not NULL: $(cat "$T/out")"

# ---- a table of 1,500 entries (more than the exact threshold: search goes through the graph) ---
# Deterministic, tie-free components in [0, 1) from a multiplicative hash of the id.
cat >"$T/fill.sql" <<SQL
CREATE TABLE entries (id INTEGER PRIMARY KEY, title TEXT, embedding BLOB);
INSERT INTO entries SELECT value, 'entry ' || value, vstore_encode(json_array(
    (value * 2654435761 % 1000003) / 1000003.0, (value * 40503 % 999983) / 999983.0,
    (value * 69069 % 1000033) / 1000033.0, (value * 1103515245 % 1000037) / 1000037.0))
  FROM generate_series(1, 1500);
SQL
expect 0 q ".read $T/fill.sql"
expect 0 "$VSTORE" init "$S"
expect 0 "$VSTORE" domain create "$S" d --dim 4

expect 0 q "select vstore_index('$S', 'd', 'c1', NULL, 'select id, embedding from entries')"
jq_check '.commit == "c1" and .parent == null and .inserted == 1500 and .deleted == 0 and
    .replaced == 0 and .live == 1500 and .unchanged == 0' "$T/out" "vstore_index c1"

# ---- searches equal the command line's ---------------------------------------------------------
for id in 3 777 1500; do
    v=$(vector_of "$id")
    "$VSTORE" search "$S" --domain d --commit c1 --vector "$v" -k 10 --json >"$T/cli.json" ||
        fail "vstore search"
    want_ids=$(jq -c 'map(.id)' "$T/cli.json")
    want_pairs=$(jq -c 'map([.id, .distance])' "$T/cli.json")
    expect 0 q "select vstore_search('$S', 'd', 'c1', embedding, 10) from entries where id = $id"
    [ "$(jq -c . "$T/out")" = "$want_ids" ] || fail "vstore_search $id: $(cat "$T/out") != $want_ids"
    [ "$(jq -r '.[0]' "$T/out")" = "$id" ] || fail "vstore_search $id is not its own nearest"
    expect 0 q "select vstore_search_with_scores('$S', 'd', 'c1', embedding, 10) from entries
        where id = $id"
    [ "$(jq -c . "$T/out")" = "$want_pairs" ] ||
        fail "vstore_search_with_scores $id: $(cat "$T/out") != $want_pairs"
    # The table-valued function, joined against the table its ids come from.
    expect 0 q "select json_group_array(json_array(k.id, k.distance)) from (select k.id, k.distance
        from vstore_knn('$S', 'd', 'c1', (select embedding from entries where id = $id), 10) k
        join entries e on e.id = k.id order by k.rank) k"
    [ "$(jq -c . "$T/out")" = "$want_pairs" ] || fail "vstore_knn $id: $(cat "$T/out") != $want_pairs"
    expect 0 q "select group_concat(rank) from vstore_knn('$S', 'd', 'c1',
        (select embedding from entries where id = $id), 10)"
    [ "$(cat "$T/out")" = "1,2,3,4,5,6,7,8,9,10" ] || fail "vstore_knn ranks: $(cat "$T/out")"
    # The aggregate: exact, over the rows the query selected; ids keep their INTEGER type.
    "$VSTORE" search "$S" --domain d --commit c1 --vector "$v" -k 10 --exact --json \
        >"$T/exact.json" || fail "vstore search --exact"
    expect 0 q "select vstore_agg_with_scores(id, embedding, (select embedding from entries
        where id = $id), 10) from entries"
    jq -e --slurpfile want "$T/exact.json" '. as $got | ($want[0] | map(.id)) as $ids |
        (map(.[0] | tostring) == $ids) and (map(.[0] | type) | all(. == "number")) and
        ([range(length)] | all(($want[0][.].distance - $got[.][1]) | fabs < 1e-5))' "$T/out" \
        >/dev/null || fail "vstore_agg_with_scores $id against vstore search --exact: $(cat "$T/out")"
    expect 0 q "select vstore_agg(id, embedding, (select embedding from entries where id = $id), 10)
        from entries"
    [ "$(jq -c 'map(tostring)' "$T/out")" = "$(jq -c 'map(.id)' "$T/exact.json")" ] ||
        fail "vstore_agg $id: $(cat "$T/out")"
done

# An argument from another table of the query: one search per row of it.
expect 0 q "select e.id || ':' || k.id from entries e, vstore_knn('$S', 'd', 'c1', e.embedding, 1) k
    where e.id in (3, 777, 1500) order by e.id"
[ "$(tr '\n' ' ' <"$T/out")" = "3:3 777:777 1500:1500 " ] || fail "correlated vstore_knn: $(cat "$T/out")"

# ---- filtered search: the 6th argument, allowed_ids, equals vstore search --only-ids ------------
# 214 allowed ids (exact over them) and 1,350 (through the graph, others navigating).
v=$(vector_of 777)
for where in "id % 7 = 0" "id % 10 != 0"; do
    q "select id from entries where $where" >"$T/allowed.txt" || fail "allowed ids"
    "$VSTORE" search "$S" --domain d --commit c1 --vector "$v" -k 10 --only-ids "$T/allowed.txt" \
        --json >"$T/cli.json" || fail "vstore search --only-ids"
    want_ids=$(jq -c 'map(.id)' "$T/cli.json")
    want_pairs=$(jq -c 'map([.id, .distance])' "$T/cli.json")
    allowed="(select json_group_array(id) from entries where $where)"
    expect 0 q "select vstore_search('$S', 'd', 'c1', embedding, 10, $allowed) from entries
        where id = 777"
    [ "$(jq -c . "$T/out")" = "$want_ids" ] || fail "vstore_search where $where: $(cat "$T/out") != $want_ids"
    expect 0 q "select vstore_search_with_scores('$S', 'd', 'c1', embedding, 10, $allowed) from entries
        where id = 777"
    [ "$(jq -c . "$T/out")" = "$want_pairs" ] ||
        fail "vstore_search_with_scores where $where: $(cat "$T/out") != $want_pairs"
    expect 0 q "select json_group_array(json_array(id, distance)) from (select id, distance from
        vstore_knn('$S', 'd', 'c1', (select embedding from entries where id = 777), 10, $allowed)
        order by rank)"
    [ "$(jq -c . "$T/out")" = "$want_pairs" ] || fail "vstore_knn where $where: $(cat "$T/out") != $want_pairs"
    # Every hit is allowed.
    jq -e --rawfile allowed "$T/allowed.txt" '($allowed | split("\n")) as $a |
        all(.[]; .[0] as $id | $a | index($id))' "$T/out" >/dev/null ||
        fail "vstore_knn where $where returned an id not allowed: $(cat "$T/out")"
done
# A list that differs from row to row is each row's own (the connection keeps the last filter).
expect 0 q "select group_concat(vstore_search('$S', 'd', 'c1', embedding, 3, json_array(id)), ' ')
    from entries where id in (3, 777, 1500)"
[ "$(cat "$T/out")" = '["3"] ["777"] ["1500"]' ] || fail "a filter per row: $(cat "$T/out")"
# One id, as a string or an integer; ids the commit lacks are never returned, and are no error.
expect 0 q "select vstore_search('$S', 'd', 'c1', embedding, 5, '[\"42\"]') || ' ' ||
    vstore_search('$S', 'd', 'c1', embedding, 5, '[42, \"nowhere\", 99999]') from entries where id = 777"
[ "$(cat "$T/out")" = '["42"] ["42"]' ] || fail "a filter of one id: $(cat "$T/out")"
expect 0 q "select vstore_search('$S', 'd', 'c1', embedding, 5, '[\"nowhere\"]') || ' ' ||
    vstore_search('$S', 'd', 'c1', embedding, 5, '[]') from entries where id = 777"
[ "$(cat "$T/out")" = '[] []' ] || fail "a filter of no live id: $(cat "$T/out")"
# NULL allows every item, and so does a filter of every id.
expect 0 q "select vstore_search('$S', 'd', 'c1', embedding, 10, NULL) =
        vstore_search('$S', 'd', 'c1', embedding, 10) and
    vstore_search('$S', 'd', 'c1', embedding, 10, (select json_group_array(id) from entries)) =
        vstore_search('$S', 'd', 'c1', embedding, 10)
    from entries where id = 777"
[ "$(cat "$T/out")" = 1 ] || fail "a NULL filter or one of every id is not the unfiltered search"
expect 0 q "select count(*) from vstore_knn('$S', 'd', 'c1',
    (select embedding from entries where id = 777), 10, NULL)"
[ "$(cat "$T/out")" = 10 ] || fail "vstore_knn with a NULL filter: $(cat "$T/out")"

# ---- the index follows its table: inserts, updates and deletes --------------------------------
expect 0 q "insert into entries values (2001, 'new 1', vstore_encode('[0.5, 0.5, 0.5, 0.5]')),
    (2002, 'new 2', vstore_encode('[0.25, 0.5, 0.75, 1]')), (2003, 'new 3', vstore_encode('[1, 0, 1, 0]'));
  update entries set embedding = vstore_encode('[0.1, 0.2, 0.3, 0.4]') where id in (10, 20);
  update entries set title = 'retitled' where id in (30, 40, 50);
  update entries set embedding = embedding where id = 60;
  delete from entries where id in (100, 200, 300, 400);"
expect 0 q "select vstore_index('$S', 'd', 'c2', 'c1', 'select id, embedding from entries')"
jq_check '.commit == "c2" and .parent == "c1" and .inserted == 3 and .replaced == 2 and
    .deleted == 4 and .live == 1499 and .unchanged == 1494' "$T/out" "vstore_index c2"
expect 0 "$VSTORE" log "$S" --domain d --commit c2 --json
jq_check '.[0].commit == "c2" and .[0].inserted == 3 and .[0].replaced == 2 and .[0].deleted == 4
    and .[1].commit == "c1" and .[1].inserted == 1500' "$T/out" "vstore log after vstore_index c2"
# Commit c2 holds exactly the table: its ids, with their vectors.
expect 0 "$VSTORE" search "$S" --domain d --commit c2 --vector '[0, 0, 0, 0]' -k 5000 --exact --json
jq -c 'map(.id | tonumber) | sort' "$T/out" >"$T/store_ids"
q "select json_group_array(id) from (select id from entries order by id)" | jq -c . >"$T/table_ids"
cmp -s "$T/store_ids" "$T/table_ids" || fail "c2 does not hold the table's ids"
expect 0 "$VSTORE" search "$S" --domain d --commit c2 --vector '[0.1, 0.2, 0.3, 0.4]' -k 2 --json
jq_check '(map(.id) | sort == ["10", "20"]) and all(.distance == 0)' "$T/out" "the replaced vectors"
# A NULL commit is the domain's newest; NULL domain is the store's only one.
v=$(vector_of 2001)
"$VSTORE" search "$S" --domain d --commit c2 --vector "$v" -k 5 --json | jq -c 'map(.id)' \
    >"$T/want"
expect 0 q "select vstore_search('$S', NULL, NULL, embedding, 5) from entries where id = 2001"
[ "$(jq -c . "$T/out")" = "$(cat "$T/want")" ] || fail "NULL commit is not c2: $(cat "$T/out")"
# A table unchanged since c2: nothing to re-index.
expect 0 q "select vstore_index('$S', 'd', 'c3', 'c2', 'select id, embedding from entries')"
jq_check '.inserted == 0 and .replaced == 0 and .deleted == 0 and .unchanged == 1499' "$T/out" \
    "vstore_index of an unchanged table"

# ---- a pack answers as its commit -------------------------------------------------------------
expect 0 "$VSTORE" pack "$S" "$T/c2.tar.xz" --domain d --commit c2 -q
for source in "$T/c2.tar.xz"; do
    expect 0 q "select vstore_search('$source', 'd', 'c2', embedding, 5) from entries where id = 2001"
    [ "$(jq -c . "$T/out")" = "$(cat "$T/want")" ] || fail "pack answers: $(cat "$T/out")"
    expect 0 q "select vstore_search('$source', NULL, NULL, embedding, 5) from entries where id = 2001"
    [ "$(jq -c . "$T/out")" = "$(cat "$T/want")" ] || fail "pack with NULLs: $(cat "$T/out")"
    expect 0 q "select count(*) from vstore_knn('$source', 'd', NULL,
        (select embedding from entries where id = 2001), 5)"
    [ "$(cat "$T/out")" = 5 ] || fail "vstore_knn of a pack: $(cat "$T/out")"
done
sql_fails() {
    local fragment=$1; shift
    fails_cleanly 1 "$fragment" q "$@"
}
sql_fails "holds commit 'c2', not 'c1'" \
    "select vstore_search('$T/c2.tar.xz', 'd', 'c1', vstore_encode('[0,0,0,0]'), 5)"
sql_fails "is a pack, not a store" \
    "select vstore_index('$T/c2.tar.xz', 'd', 'c9', 'c2', 'select id, embedding from entries')"

# ---- errors: one line, the library's message, nothing changed ---------------------------------
ZERO="vstore_encode('[0,0,0,0]')"
sql_fails "not a multiple of 4" "select vstore_search('$S', 'd', 'c1', x'010203', 5)"
sql_fails "query has 1 components; domain 'd' has 4" "select vstore_search('$S', 'd', 'c1', x'0000803f', 5)"
sql_fails "empty BLOB" "select vstore_search('$S', 'd', 'c1', x'', 5)"
sql_fails "embedding must be a BLOB" "select vstore_search('$S', 'd', 'c1', '[0,0,0,0]', 5)"
sql_fails "embedding must be a BLOB.*NULL" "select vstore_search('$S', 'd', 'c1', NULL, 5)"
sql_fails "no such store or pack" "select vstore_search('$T/nowhere', 'd', 'c1', $ZERO, 5)"
sql_fails "neither a store nor a pack" "select vstore_search('$DB', 'd', 'c1', $ZERO, 5)"
sql_fails "not found.*nodomain" "select vstore_search('$S', 'nodomain', 'c1', $ZERO, 5)"
sql_fails "not found.*nocommit" "select vstore_search('$S', 'd', 'nocommit', $ZERO, 5)"
sql_fails "store must be TEXT, not NULL" "select vstore_search(NULL, 'd', 'c1', $ZERO, 5)"
sql_fails "k must be at least 1" "select vstore_search('$S', 'd', 'c1', $ZERO, 0)"
sql_fails "k must be an INTEGER, not TEXT" "select vstore_search_with_scores('$S', 'd', 'c1', $ZERO, '5')"
sql_fails "k must be an INTEGER, not REAL" "select vstore_search('$S', 'd', 'c1', $ZERO, 2.5)"
sql_fails "vstore_knn: k must be at least 1" "select * from vstore_knn('$S', 'd', 'c1', $ZERO, -1)"
sql_fails "not a multiple of 4" "select * from vstore_knn('$S', 'd', 'c1', x'0102', 3)"
sql_fails "needs at least five arguments" "select * from vstore_knn('$S', 'd', 'c1')"
sql_fails "allowed_ids must be TEXT holding a JSON array of ids.*BLOB" \
    "select vstore_search('$S', 'd', 'c1', $ZERO, 5, x'00')"
sql_fails "vstore_search_with_scores: allowed_ids is not JSON" \
    "select vstore_search_with_scores('$S', 'd', 'c1', $ZERO, 5, '[\"a\"')"
sql_fails "allowed_ids must be a JSON array of ids, not object" \
    "select vstore_search('$S', 'd', 'c1', $ZERO, 5, '{}')"
sql_fails "vstore_knn: allowed_ids: element 1 is number, not an id" \
    "select * from vstore_knn('$S', 'd', 'c1', $ZERO, 5, '[\"a\", 1.5]')"
sql_fails "not a multiple of 4" "select vstore_decode(x'0102030405')"
sql_fails "must be a BLOB.*TEXT" "select vstore_decode('abcd')"
sql_fails "not JSON" "select vstore_encode('[1, 2')"
sql_fails "JSON array of numbers, not object" "select vstore_encode('{}')"
sql_fails "element 1 is string" "select vstore_encode('[1, \"x\"]')"
sql_fails "outside float32's range" "select vstore_encode('[1e39]')"
sql_fails "NaN" "select vstore_decode(x'0000c07f')"
sql_fails "embedding is 3 bytes" \
    "select vstore_agg(id, x'000000', $ZERO, 3) from entries"
sql_fails "embedding has 4 floats, compare_embedding 2" \
    "select vstore_agg(id, embedding, vstore_encode('[0, 0]'), 3) from entries"
sql_fails "unknown metric 'manhattan'" \
    "select vstore_agg(id, embedding, $ZERO, 3, 'manhattan') from entries"
sql_fails "id must be INTEGER or TEXT, not NULL" \
    "select vstore_agg(NULL, embedding, $ZERO, 3) from entries"
sql_fails "compare_embedding differs between rows" \
    "select vstore_agg(id, embedding, embedding, 3) from entries"
sql_fails "zero" "select vstore_agg(id, embedding, $ZERO, 3, 'cosine') from entries"
sql_fails "exists" "select vstore_index('$S', 'd', 'c2', 'c1', 'select id, embedding from entries')"
sql_fails "not found.*nocommit" \
    "select vstore_index('$S', 'd', 'c9', 'nocommit', 'select id, embedding from entries')"
sql_fails "sql: no such table: missing" \
    "select vstore_index('$S', 'd', 'c9', 'c2', 'select id, embedding from missing')"
sql_fails "must only read" "select vstore_index('$S', 'd', 'c9', 'c2', 'delete from entries')"
sql_fails "selects 3 columns" "select vstore_index('$S', 'd', 'c9', 'c2', 'select * from entries')"
sql_fails "more than one statement" \
    "select vstore_index('$S', 'd', 'c9', 'c2', 'select id, embedding from entries; select 1, 2')"
sql_fails "sql row 1 (id \"t\"): embedding is 3 bytes, not a multiple of 4" \
    "select vstore_index('$S', 'd', 'c9', 'c2', 'select ''t'', x''000000''')"
sql_fails "sql row 2 (id \"b\").* has 2 components; domain 'd' has 4" \
    "select vstore_index('$S', 'd', 'c9', 'c2', 'select ''a'', vstore_encode(''[1,2,3,4]'') union all select ''b'', vstore_encode(''[1,2]'')')"
sql_fails "sql row 1: id is NULL" \
    "select vstore_index('$S', 'd', 'c9', 'c2', 'select NULL, vstore_encode(''[1,2,3,4]'')')"
# An aggregate over no rows is an empty list.
expect 0 q "select vstore_agg(id, embedding, $ZERO, 3) from entries where id < 0"
[ "$(cat "$T/out")" = "[]" ] || fail "vstore_agg of no rows: $(cat "$T/out")"

# ---- sqlite-utils --load-extension --------------------------------------------------------------
expect 0 sqlite-utils query "$DB" --load-extension "$EXT" \
    "select vstore_search('$S', 'd', 'c2', embedding, 5) as hits from entries where id = 2001"
[ "$(jq -c '.[0].hits | fromjson' "$T/out")" = "$(cat "$T/want")" ] ||
    fail "sqlite-utils: $(cat "$T/out")"

finish sql.cli
