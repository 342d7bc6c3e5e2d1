#!/bin/bash
# CLI tests for filtered search, `vstore search --only-ids FILE`: the answers are the nearest
# among the listed ids that the commit holds, by graph or exact search, for a vector or a query
# file and over several domains; ids the commit lacks are never returned (a note says how many);
# a missing or unreadable file is a one-line error that changes nothing.
# Usage: test_filter.sh VSTORE
set -u
VSTORE=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

S="$T/store"
expect 0 "$VSTORE" init "$S"
expect 0 "$VSTORE" domain create "$S" A --dim 2
expect 0 "$VSTORE" domain create "$S" B --dim 2
# A: a0 ... a99 at (i, 0); B: b0 ... b49 at (i + 0.5, 0). c2 of A deletes a3 and moves a4 far.
for i in $(seq 0 99); do echo "{\"id\": \"a$i\", \"op\": \"Inserted\", \"vector\": [$i, 0]}"; done >"$T/a.jsonl"
for i in $(seq 0 49); do echo "{\"id\": \"b$i\", \"op\": \"Inserted\", \"vector\": [$i.5, 0]}"; done >"$T/b.jsonl"
printf '%s\n' '{"id": "a3", "op": "Deleted"}' '{"id": "a4", "op": "Replaced", "vector": [1000, 0]}' >"$T/a2.jsonl"
expect 0 "$VSTORE" index "$S" --domain A --commit c1 --ops "$T/a.jsonl" -q
expect 0 "$VSTORE" index "$S" --domain A --commit c2 --parent c1 --ops "$T/a2.jsonl" -q
expect 0 "$VSTORE" index "$S" --domain B --commit c1 --ops "$T/b.jsonl" -q

# ids QUERY_ARGS...: the ids of a search's JSON answer, in order, on one line.
ids() { "$VSTORE" search "$S" "$@" --json 2>"$T/err" | jq -c 'map(.id)'; }

printf 'a50\n\na10\na3\na4\nnope\na90\n' >"$T/allowed.txt"
for how in "" "--exact"; do
    # shellcheck disable=SC2086
    got=$(ids --domain A --commit c2 --vector '[4, 0]' -k 3 --only-ids "$T/allowed.txt" $how)
    [ "$got" = '["a10","a50","a90"]' ] || fail "filtered search${how:+ $how} of c2: $got"
    grep -q "2 of 6 ids are not live in commit 'c2' of domain 'A'" "$T/err" ||
        fail "no note of the ids c2 lacks: $(cat "$T/err")"
    # In c1, a3 and a4 are live and nearest.
    # shellcheck disable=SC2086
    got=$(ids --domain A --commit c1 --vector '[4, 0]' -k 3 --only-ids "$T/allowed.txt" $how)
    [ "$got" = '["a4","a3","a10"]' ] || fail "filtered search${how:+ $how} of c1: $got"
done
# -q silences the note; k beyond the allowed live set returns just those.
got=$("$VSTORE" search "$S" --domain A --commit c2 --vector '[0, 0]' -k 50 --only-ids "$T/allowed.txt" --json -q 2>"$T/err" | jq -c 'map(.id)')
[ "$got" = '["a10","a50","a90","a4"]' ] || fail "k beyond the allowed set: $got"
[ -s "$T/err" ] && fail "-q printed: $(cat "$T/err")"

# A filter of one id; of ids the commit lacks only: no hits.
echo a77 >"$T/one.txt"
[ "$(ids --domain A --commit c2 --vector '[0, 0]' -k 5 --only-ids "$T/one.txt")" = '["a77"]' ] ||
    fail "a filter of one id"
printf 'a3\nzzz\n' >"$T/lacking.txt"
[ "$(ids --domain A --commit c2 --vector '[0, 0]' -k 5 --only-ids "$T/lacking.txt")" = '[]' ] ||
    fail "a filter of ids the commit lacks"

# A filter of every id equals the unfiltered search.
"$VSTORE" search "$S" --domain A --commit c2 --vector '[0, 0]' -k 1000 --exact --json -q |
    jq -r '.[].id' >"$T/every.txt"
[ "$(ids --domain A --commit c2 --vector '[33.2, 0]' -k 7 --only-ids "$T/every.txt")" = \
  "$(ids --domain A --commit c2 --vector '[33.2, 0]' -k 7)" ] || fail "a filter of every id"

# A file of queries (.fvecs): each query gets the nearest allowed ids.
perl -e 'print pack("l<f<f<", 2, 4, 0), pack("l<f<f<", 2, 95, 0)' >"$T/queries.fvecs"
got=$("$VSTORE" search "$S" --domain A --commit c2 --vector-file "$T/queries.fvecs" -k 2 --only-ids "$T/allowed.txt" --json -q | jq -c 'map(map(.id))')
[ "$got" = '[["a10","a50"],["a90","a50"]]' ] || fail "a query file with --only-ids: $got"

# Several domains: the filter applies to each; ids of B among them.
printf 'a10\nb2\nb40\n' >"$T/both.txt"
got=$("$VSTORE" search "$S" --domain A --domain B --commit c2 --commit c1 --vector '[3, 0]' -k 2 --only-ids "$T/both.txt" --json -q | jq -c 'map([.domain, .id])')
[ "$got" = '[["B","b2"],["A","a10"]]' ] || fail "--only-ids over two domains: $got"

# A missing file: one line naming it, nothing changed.
fails_cleanly 1 "missing.txt" "$VSTORE" search "$S" --domain A --commit c2 --vector '[0, 0]' --only-ids "$T/missing.txt"

finish test_filter
