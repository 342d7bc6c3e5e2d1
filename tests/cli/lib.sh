# Helpers shared by the command-line tests. A test sources this after setting T (its temporary
# directory) and VSTORE (the command line), then calls `finish NAME` at the end.
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
# store_state STORE: every file of the store by checksum (but LMDB's lock file, which readers
# write too), the domains and the log of each.
store_state() {
    (cd "$1" && find . -type f ! -name catalog-lock | LC_ALL=C sort | xargs -r sha256sum)
    "$VSTORE" domain list "$1" --json
    local d
    for d in $("$VSTORE" domain list "$1" --json | jq -r '.[].name'); do
        "$VSTORE" log "$1" --domain "$d" --json
    done
}
# fails_cleanly STATUS FRAGMENT COMMAND...: COMMAND exits STATUS with a one-line error that
# mentions FRAGMENT (none checked when FRAGMENT is empty) and leaves the store $S as it was.
fails_cleanly() {
    local want=$1 fragment=$2; shift 2
    store_state "$S" >"$T/state.before" 2>&1
    expect "$want" "$@"
    [ -n "$fragment" ] && one_line_error "$fragment"
    store_state "$S" >"$T/state.after" 2>&1
    cmp -s "$T/state.before" "$T/state.after" ||
        fail "store changed by a failed command: $* ($(diff "$T/state.before" "$T/state.after" | head -c 400))"
}
# finish NAME: the exit status of the test.
finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures failure(s)"
        exit 1
    fi
    echo "$1: all checks passed"
}
