# Helpers shared by the command-line tests. A test sources this after setting T (its temporary
# directory), then calls `finish NAME` at the end.
# shellcheck shell=bash
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect STATUS COMMAND...: runs COMMAND, keeps stdout in $T/out and stderr in $T/err.
expect() {
    local want=$1; shift
    "$@" >"$T/out" 2>"$T/err"
    local got=$?
    [ "$got" = "$want" ] || fail "exit $got, wanted $want: $* ($(head -c 300 "$T/err"))"
}
# one_line_error FRAGMENT: the error is exactly one line and mentions FRAGMENT (a grep regex).
one_line_error() {
    [ "$(wc -l <"$T/err")" = 1 ] || fail "error is not one line: $(cat "$T/err")"
    grep -q -- "$1" "$T/err" || fail "error lacks '$1': $(cat "$T/err")"
}
# jq_check FILTER FILE WHAT: fails unless FILTER holds for the JSON in FILE.
jq_check() {
    jq -e "$1" "$2" >/dev/null || fail "$3: $(head -c 600 "$2")"
}
# flip_byte FILE OFFSET: inverts every bit of one byte, so the byte surely changes.
flip_byte() {
    local old
    old=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    # The format is the octal escape of the new byte, built on purpose.
    # shellcheck disable=SC2059
    printf "$(printf '\\%03o' $((old ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# finish NAME: the exit status of the test.
finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures failure(s)"
        exit 1
    fi
    echo "$1: all checks passed"
}
