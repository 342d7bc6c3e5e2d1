#!/bin/bash
# CLI tests for `vstore inspect` on vector files: output, --json, --verify, exit statuses and
# one-line errors for foreign, truncated and corrupt files.
# Usage: test_inspect.sh VSTORE WALKTHROUGH
set -u
VSTORE=$1
WALKTHROUGH=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect STATUS COMMAND...: runs COMMAND, keeps stdout in $T/out and stderr in $T/err.
expect() {
    local want=$1; shift
    "$@" >"$T/out" 2>"$T/err"
    local got=$?
    [ "$got" = "$want" ] || fail "exit $got, wanted $want: $* ($(head -c 300 "$T/err"))"
}
# The error is exactly one line and mentions the fragment.
one_line_error() {
    [ "$(wc -l <"$T/err")" = 1 ] || fail "error is not one line: $(cat "$T/err")"
    grep -q -- "$1" "$T/err" || fail "error lacks '$1': $(cat "$T/err")"
}

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

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "cli inspect: all checks passed"
