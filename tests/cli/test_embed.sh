#!/bin/bash
# CLI tests of text in (spec/embed-command.md): `vstore index --embed-command` with operations and
# snapshot items that carry a "string", and `vstore search --text`, through the test embedder
# (tests/embedder/hash_embedder.cpp). A text search finds the item of the same text at distance
# 0, answers as --vector does with the embedder's vector, and an index that cannot embed fails
# with a one-line error and commits nothing.
# Usage: test_embed.sh VSTORE TEST_EMBEDDER
set -u
VSTORE=$1
EMBEDDER=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# 64 dimensions: few enough words collide that each text's nearest item is its own.
EMBED="'$EMBEDDER' --dimension 64"
S="$T/store"
# text N: the text of item doc-N; texts share words, so that they have neighbours.
text() { echo "doc $1 about topic $(($1 % 5)) and word$1"; }
# vector_of TEXT: the test embedder's vector of TEXT, as a JSON array.
vector_of() {
    jq -cn --arg t "$1" '{texts: [$t]}' | "$EMBEDDER" --dimension 64 | jq -c '.vectors[0]'
}
# commits: the commit ids of domain t, sorted.
commits() {
    "$VSTORE" log "$S" --domain t --json | jq -r '.[].commit' | sort | tr '\n' ' '
}

expect 0 "$VSTORE" init "$S"
expect 0 "$VSTORE" domain create "$S" t --dim 64

# ---- index: text operations ------------------------------------------------------------------
for i in $(seq 0 29); do
    jq -cn --arg id "doc-$i" --arg t "$(text "$i")" '{id: $id, op: "Inserted", string: $t}'
done >"$T/ops1.jsonl"
jq -cn '{id: "vec-0", op: "Inserted", vector: [range(64) | 1]}' >>"$T/ops1.jsonl"
expect 0 "$VSTORE" index "$S" --domain t --commit c1 --ops "$T/ops1.jsonl" --embed-command "$EMBED" \
    --embed-batch-size 4 --json -q
jq_check '.inserted == 31 and .live == 31' "$T/out" "index of text operations"

# ---- search --text ---------------------------------------------------------------------------
for i in 0 7 29; do
    expect 0 "$VSTORE" search "$S" --domain t --commit c1 --text "$(text "$i")" \
        --embed-command "$EMBED" -k 3 --json
    jq_check ".[0].id == \"doc-$i\" and .[0].distance == 0 and length == 3" "$T/out" \
        "search --text of doc-$i's text"
done
Q="topic 3 and a few other words"
expect 0 "$VSTORE" search "$S" --domain t --commit c1 --text "$Q" --embed-command "$EMBED" --json
cp "$T/out" "$T/by-text.json"
expect 0 "$VSTORE" search "$S" --domain t --commit c1 --vector "$(vector_of "$Q")" --json
cmp -s "$T/by-text.json" "$T/out" ||
    fail "search --text vs --vector: $(cat "$T/by-text.json") vs $(cat "$T/out")"
expect 0 "$VSTORE" search "$S" --domain t --commit c1 --text "$Q" --embed-command "$EMBED" -k 2
head -n1 "$T/out" | grep -Eq '^rank  id +distance$' || fail "search --text table: $(cat "$T/out")"

# ---- index: a text snapshot ------------------------------------------------------------------
# The same texts as c1 (and doc-30 new, vec-0 gone): the same vectors, so only doc-30 changes.
for i in $(seq 0 30); do
    jq -cn --arg id "doc-$i" --arg t "$(text "$i")" '{id: $id, string: $t}'
done >"$T/snap.jsonl"
expect 0 "$VSTORE" index "$S" --domain t --commit c2 --parent c1 --snapshot "$T/snap.jsonl" \
    --embed-command "$EMBED" --json -q
jq_check '.inserted == 1 and .deleted == 1 and .replaced == 0 and .live == 31' "$T/out" \
    "index of a text snapshot"

# ---- failures commit nothing -----------------------------------------------------------------
before=$(commits)
jq -cn '{id: "doc-new", op: "Inserted", string: "a new text"}' >"$T/ops3.jsonl"
expect 1 "$VSTORE" index "$S" --domain t --commit c3 --parent c2 --ops "$T/ops3.jsonl"
one_line_error "ops3.jsonl:1: has a \"string\" to embed, but no embed command was given (--embed-command)"
expect 1 "$VSTORE" index "$S" --domain t --commit c3 --parent c2 --snapshot "$T/snap.jsonl"
one_line_error "snap.jsonl:1: has a \"string\" to embed"
# The embedder exits after its first answer: the second batch of four fails the whole commit.
expect 1 "$VSTORE" index "$S" --domain t --commit c3 --ops "$T/ops1.jsonl" \
    --embed-command "$EMBED --exit-after 1" --embed-batch-size 4
one_line_error "ops1.jsonl:5: a batch of 4 texts from here: embed command '.*--exit-after 1': exited with status 3 before answering"
expect 1 "$VSTORE" index "$S" --domain t --commit c3 --ops "$T/ops1.jsonl" \
    --embed-command "$EMBED --hang-after 0" --embed-timeout 0.2
one_line_error "embed command '.*': no answer within 0.2 s (killed)"
expect 1 "$VSTORE" index "$S" --domain t --commit c3 --ops "$T/ops1.jsonl" \
    --embed-command "'$EMBEDDER' --dimension 4"
one_line_error "ops1.jsonl:1: vector of id 'doc-0' has 4 components; domain 't' has 64"
[ "$(commits)" = "$before" ] || fail "a failed index committed: $(commits) (before: $before)"

# ---- search --text errors --------------------------------------------------------------------
sq=("$VSTORE" search "$S" --domain t --commit c1)
expect 2 "${sq[@]}" --text "$Q"
grep -q -- "--text needs --embed-command" "$T/err" || fail "--text alone: $(cat "$T/err")"
expect 2 "${sq[@]}" --text "$Q" --vector "$(vector_of "$Q")" --embed-command "$EMBED"
expect 2 "${sq[@]}" --id doc-1 --embed-command "$EMBED"
expect 1 "${sq[@]}" --text "$(printf 'caf\xff')" --embed-command "$EMBED"
one_line_error "--text: text is not valid UTF-8 (byte 3)"
expect 1 "${sq[@]}" --text "$Q" --embed-command "'$EMBEDDER' --garbage"
one_line_error "answer line 1 is not JSON"
expect 1 "${sq[@]}" --text "$Q" --embed-command "'$EMBEDDER' --error"
one_line_error "refused the request: the test embedder was told to refuse"

# ---- help ------------------------------------------------------------------------------------
for cmd in index search; do
    expect 0 "$VSTORE" $cmd --help
    grep -q -- "--embed-command" "$T/out" || fail "'vstore $cmd --help' lacks --embed-command"
done
grep -q -- "--text" "$T/out" || fail "'vstore search --help' lacks --text"

finish "cli embed"
