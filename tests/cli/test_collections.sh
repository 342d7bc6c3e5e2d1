#!/bin/bash
# CLI tests for llm's embeddings databases and for searching several domains at once (seed 001):
# `vstore index --llm-db DB --collection NAME` indexes one collection of a database whose
# collections share ids, re-indexing only what changed since the parent, and `vstore search
# --domain A --domain B` answers the k nearest of both, each hit naming its domain and commit.
# The database has llm's own schema (llm/embeddings_migrations.py), written with sqlite3.
# Usage: test_collections.sh VSTORE
set -u
VSTORE=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# f32 X...: the hex of little-endian float32 values, for SQLite's x'...' literals.
f32() { perl -e 'print unpack("H*", pack("f<*", @ARGV))' "$@"; }
# row COLLECTION_ID ID X...: an INSERT of one embedding as llm writes it.
row() {
    local cid=$1 id=$2; shift 2
    echo "INSERT INTO embeddings (collection_id, id, embedding, content, content_hash, metadata, updated)
          VALUES ($cid, '$id', x'$(f32 "$@")', 'text of $id', x'00', NULL, 1700000000);"
}
# ids_and_distances DOMAIN COMMIT: every live item of a commit as [id, distance from the origin],
# sorted by id: what the commit holds.
ids_and_distances() {
    "$VSTORE" search "$S" --domain "$1" --commit "$2" --vector '[0, 0, 0, 0]' -k 1000 --exact \
        --json | jq -c 'map([.id, .distance]) | sort'
}

DB="$T/embeddings.db"
sqlite3 "$DB" <<SQL || fail "could not write the llm database"
$(cat "$(dirname "${BASH_SOURCE[0]}")/../data/llm-schema.sql")
INSERT INTO collections VALUES (1, 'alpha', 'ada-002'), (2, 'beta', 'ada-002'),
    (3, 'narrow', 'tiny'), (4, 'torn', 'broken');
SQL
# alpha: item-0 ... item-29 at (i, 0, 0, 1); beta: item-0 ... item-19 at (0, i, 0, 2): the same ids
# with other vectors. Squared distances from the origin: i² + 1 and i² + 4.
{
    echo "BEGIN;"
    for i in $(seq 0 29); do row 1 "item-$i" "$i" 0 0 1; done
    for i in $(seq 0 19); do row 2 "item-$i" 0 "$i" 0 2; done
    row 3 "item-0" 1 2 3
    echo "INSERT INTO embeddings (collection_id, id, embedding) VALUES (4, 'item-0', x'0000803f000000');"
    echo "COMMIT;"
} | sqlite3 "$DB" || fail "could not fill the llm database"

S="$T/store"
expect 0 "$VSTORE" init "$S"
expect 0 "$VSTORE" domain create "$S" A --dim 4
expect 0 "$VSTORE" domain create "$S" B --dim 4

# ---- index --llm-db: each collection into its own domain --------------------------------------
expect 0 "$VSTORE" index "$S" --domain A --commit c1 --llm-db "$DB" --collection alpha --json -q
jq_check '.inserted == 30 and .deleted == 0 and .replaced == 0 and .live == 30 and .parent == null' \
    "$T/out" "alpha c1 summary"
expect 0 "$VSTORE" index "$S" --domain B --commit c1 --llm-db "$DB" --collection beta --json -q
jq_check '.inserted == 20 and .deleted == 0 and .replaced == 0 and .live == 20' "$T/out" \
    "beta c1 summary"
want_a=$(for i in $(seq 0 29); do echo "[\"item-$i\", $((i * i + 1))]"; done | jq -sc 'sort')
want_b=$(for i in $(seq 0 19); do echo "[\"item-$i\", $((i * i + 4))]"; done | jq -sc 'sort')
[ "$(ids_and_distances A c1)" = "$want_a" ] || fail "A@c1 is not exactly alpha: $(ids_and_distances A c1)"
[ "$(ids_and_distances B c1)" = "$want_b" ] || fail "B@c1 is not exactly beta: $(ids_and_distances B c1)"
# The text summary names what was read.
expect 0 "$VSTORE" index "$S" --domain A --commit c2 --parent c1 --llm-db "$DB" --collection alpha -q
grep -q "^commit 'c2' of domain 'A' on 'c1': 0 inserted, 0 deleted, 0 replaced, 30 unchanged$" \
    "$T/out" || fail "an unchanged collection re-indexed something: $(cat "$T/out")"

# ---- a second run after changes to alpha re-indexes exactly them ------------------------------
{
    echo "BEGIN;"
    row 1 "item-100" 100 0 0 1                                              # inserted
    echo "UPDATE embeddings SET embedding = x'$(f32 3 0 0 2)', updated = 1700000100
          WHERE collection_id = 1 AND id = 'item-3';"                         # replaced
    echo "UPDATE embeddings SET content = 'new text' WHERE collection_id = 1 AND id = 'item-5';"
    echo "DELETE FROM embeddings WHERE collection_id = 1 AND id = 'item-4';"   # deleted
    # beta's rows of the same ids change too, which alpha's commit must not see.
    echo "DELETE FROM embeddings WHERE collection_id = 2 AND id = 'item-3';"
    row 2 "item-200" 0 200 0 2
    echo "COMMIT;"
} | sqlite3 "$DB" || fail "could not change the llm database"
expect 0 "$VSTORE" index "$S" --domain A --commit c3 --parent c2 --llm-db "$DB" --collection alpha --json -q
jq_check '.inserted == 1 and .deleted == 1 and .replaced == 1 and .live == 30 and .unchanged == 28' \
    "$T/out" "alpha c3 summary"
expect 0 "$VSTORE" log "$S" --domain A --commit c3 --json
jq_check 'map(.commit) == ["c3", "c2", "c1"]
    and (.[0] | .inserted == 1 and .deleted == 1 and .replaced == 1 and .live == 30)
    and (.[1] | .inserted == 0 and .deleted == 0 and .replaced == 0 and .live == 30)' \
    "$T/out" "log of A@c3"
want_a3=$( (for i in $(seq 0 29); do
    case $i in 3) echo '["item-3", 13]' ;; 4) ;; *) echo "[\"item-$i\", $((i * i + 1))]" ;; esac
done; echo '["item-100", 10001]') | jq -sc 'sort')
[ "$(ids_and_distances A c3)" = "$want_a3" ] || fail "A@c3 is not alpha as changed: $(ids_and_distances A c3)"
[ "$(ids_and_distances A c1)" = "$want_a" ] || fail "A@c1 changed: $(ids_and_distances A c1)"
expect 0 "$VSTORE" index "$S" --domain B --commit c2 --parent c1 --llm-db "$DB" --collection beta --json -q
jq_check '.inserted == 1 and .deleted == 1 and .replaced == 0 and .live == 20' "$T/out" "beta c2 summary"

# ---- errors: the database, the collection and the id at fault; the store unchanged -----------
fails_cleanly 1 "embeddings.db: no collection \"gamma\"; its collections are \"alpha\", \"beta\", \"narrow\", \"torn\"" \
    "$VSTORE" index "$S" --domain A --commit x --parent c3 --llm-db "$DB" --collection gamma
grep -q "not found" "$T/err" || fail "an unknown collection is not a not-found error: $(cat "$T/err")"
fails_cleanly 1 "embeddings.db: collection \"narrow\": id \"item-0\": vector of id 'item-0' has 3 components; domain 'A' has 4" \
    "$VSTORE" index "$S" --domain A --commit x --parent c3 --llm-db "$DB" --collection narrow
fails_cleanly 1 "embeddings.db: collection \"torn\": id \"item-0\": embedding is 7 bytes, not a multiple of 4" \
    "$VSTORE" index "$S" --domain A --commit x --parent c3 --llm-db "$DB" --collection torn
sqlite3 "$T/plain.db" "CREATE TABLE embeddings (id TEXT, embedding BLOB);"
fails_cleanly 1 "plain.db: not an llm embeddings database: it has no table 'collections'" \
    "$VSTORE" index "$S" --domain A --commit x --parent c3 --llm-db "$T/plain.db" --collection alpha
fails_cleanly 1 "missing.db: no such file" \
    "$VSTORE" index "$S" --domain A --commit x --parent c3 --llm-db "$T/missing.db" --collection alpha
[ -e "$T/missing.db" ] && fail "index created the missing database"
fails_cleanly 2 "--llm-db needs --collection" \
    "$VSTORE" index "$S" --domain A --commit x --parent c3 --llm-db "$DB"
fails_cleanly 2 "--collection goes with --llm-db" \
    "$VSTORE" index "$S" --domain A --commit x --parent c3 --sqlite "$DB" --table embeddings --collection alpha
fails_cleanly 2 "exactly one of --ops, --snapshot, --sqlite and --llm-db" \
    "$VSTORE" index "$S" --domain A --commit x --parent c3 --llm-db "$DB" --collection alpha --snapshot "$T/none.jsonl"
# The plain SQLite reader still refuses this database, as the issue found it.
fails_cleanly 1 "appears twice" \
    "$VSTORE" index "$S" --domain A --commit x --parent c3 --sqlite "$DB" --table embeddings

# ---- search over several domains ----------------------------------------------------------------
# brute_force K DOMAIN@COMMIT...: the K nearest of the origin over the given commits, from each
# commit's own exact answer, in (distance, domain, id, commit) order.
brute_force() {
    local k=$1; shift
    local dc
    for dc in "$@"; do
        "$VSTORE" search "$S" --domain "${dc%@*}" --commit "${dc#*@}" --vector '[0, 0, 0, 0]' \
            -k 1000 --exact --json | jq -c --arg d "${dc%@*}" --arg c "${dc#*@}" \
            'map({domain: $d, commit: $c, id, distance})'
    done | jq -sc --argjson k "$k" 'add | sort_by([.distance, .domain, .id, .commit]) | .[:$k]'
}
for k in 1 5 12 1000; do
    expect 0 "$VSTORE" search "$S" --domain A --domain B --commit c3 --commit c2 \
        --vector '[0, 0, 0, 0]' -k "$k" --json
    [ "$(jq -c . "$T/out")" = "$(brute_force "$k" A@c3 B@c2)" ] ||
        fail "search A@c3 B@c2 -k $k: $(head -c 600 "$T/out")"
done
jq_check 'length == 50 and (.[0] | keys_unsorted) == ["domain", "commit", "id", "distance"]' \
    "$T/out" "every item of both commits, each naming its domain and commit"
# Equal distances go by domain: A's item-2 and B's item-1 are both at 5.
expect 0 "$VSTORE" search "$S" --domain B --domain A --commit c1 --vector '[0, 0, 0, 0]' -k 4 --json
jq_check '. == [{"domain": "A", "commit": "c1", "id": "item-0", "distance": 1},
                {"domain": "A", "commit": "c1", "id": "item-1", "distance": 2},
                {"domain": "B", "commit": "c1", "id": "item-0", "distance": 4},
                {"domain": "A", "commit": "c1", "id": "item-2", "distance": 5}]' \
    "$T/out" "one --commit for both domains, domains given in the other order"
expect 0 "$VSTORE" search "$S" --domain B --domain A --commit c1 --vector '[0, 0, 0, 0]' -k 5 --exact --json
jq_check '.[3:] == [{"domain": "A", "commit": "c1", "id": "item-2", "distance": 5},
                    {"domain": "B", "commit": "c1", "id": "item-1", "distance": 5}]' \
    "$T/out" "a tie at distance 5, ordered by domain"
# Two commits of one domain: the same id from each, told apart by the commit.
expect 0 "$VSTORE" search "$S" --domain A --domain A --commit c1 --commit c3 --vector '[3, 0, 0, 2]' -k 2 --json
jq_check '. == [{"domain": "A", "commit": "c3", "id": "item-3", "distance": 0},
                {"domain": "A", "commit": "c1", "id": "item-3", "distance": 1}]' \
    "$T/out" "two commits of A"
# Many queries: an array of arrays; --id takes the vector from the first domain.
echo '[[0, 0, 0, 0], [0, 7, 0, 2]]' >"$T/queries.json"
expect 0 "$VSTORE" search "$S" --domain A --domain B --commit c3 --commit c2 --vector-file "$T/queries.json" -k 1 --json
jq_check '. == [[{"domain": "A", "commit": "c3", "id": "item-0", "distance": 1}],
                [{"domain": "B", "commit": "c2", "id": "item-7", "distance": 0}]]' "$T/out" "two queries"
expect 0 "$VSTORE" search "$S" --domain B --domain A --commit c2 --commit c3 --id item-7 -k 1 --json
jq_check '. == [{"domain": "B", "commit": "c2", "id": "item-7", "distance": 0}]' "$T/out" "--id in B"
# The text table gains the domain and commit columns.
expect 0 "$VSTORE" search "$S" --domain A --domain B --commit c1 --vector '[0, 0, 0, 0]' -k 2
[ "$(cat "$T/out")" = "rank  domain  commit  id      distance
   1  A       c1      item-0  1
   2  A       c1      item-1  2" ] || fail "text of a search over two domains: $(cat "$T/out")"
# One domain: the output is as it always was, without "domain".
expect 0 "$VSTORE" search "$S" --domain A --commit c3 --vector '[0, 0, 0, 0]' -k 1 --json
jq_check '. == [{"id": "item-0", "distance": 1}]' "$T/out" "single-domain output"

# Errors: domains that do not compare, commits that do not match the domains.
expect 0 "$VSTORE" domain create "$S" C --dim 4 --metric cosine
expect 0 "$VSTORE" domain create "$S" D --dim 3
expect 0 "$VSTORE" index "$S" --domain C --commit c1 --llm-db "$DB" --collection beta -q
expect 0 "$VSTORE" index "$S" --domain D --commit c1 --llm-db "$DB" --collection narrow -q
expect 1 "$VSTORE" search "$S" --domain A --domain C --commit c1 --vector '[1, 0, 0, 0]'
one_line_error "commit 'c1' of domain 'C' has metric cosine, but commit 'c1' of domain 'A' has l2"
expect 1 "$VSTORE" search "$S" --domain A --domain D --commit c1 --vector '[1, 0, 0, 0]'
one_line_error "commit 'c1' of domain 'D' has 3 dimensions, but commit 'c1' of domain 'A' has 4"
expect 1 "$VSTORE" search "$S" --domain A --domain B --commit c3 --vector '[1, 0, 0, 0]'
one_line_error "c3"
expect 2 "$VSTORE" search "$S" --domain A --domain B --commit c1 --commit c2 --commit c3 --vector '[1, 0, 0, 0]'
one_line_error "one --commit for every --domain"
expect 2 "$VSTORE" search "$S" --domain A --commit c1 --commit c3 --vector '[1, 0, 0, 0]'
one_line_error "several commits need one --domain each"
expect 2 "$VSTORE" search "$S" --domain A --domain B --vector '[1, 0, 0, 0]'
one_line_error "--commit"

finish test_collections.sh
