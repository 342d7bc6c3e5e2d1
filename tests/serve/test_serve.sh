#!/bin/bash
# HTTP tests of `vstore serve`: a real server on an ephemeral loopback port, driven by curl.
# Every endpoint is checked against the command line's answers for the same store; then the
# errors and their codes, authentication, the body, query and queue limits, a client that
# sends one byte at a time, 8 concurrent search clients while an index task runs, SIGTERM
# during an index task followed by a restart, and text in through the test embedder (and
# embedders that exit, hang or answer garbage).
# Usage: test_serve.sh VSTORE MAKE_INPUTS TEST_EMBEDDER
set -u
VSTORE=$1
MAKE_INPUTS=$2
EMBEDDER=$3
T=$(mktemp -d)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
# The slow client below writes to a socket the server closes: an error, not a signal.
trap "" PIPE
# shellcheck source=../cli/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"

I="$T/in"
"$MAKE_INPUTS" "$I" 1 >/dev/null || { echo "FAIL: vstore-make-inputs failed"; exit 1; }
TOKEN=test-token-$RANDOM$RANDOM
printf '%s\n' "$TOKEN" >"$T/token"

# start_server STORE [OPTIONS...]: starts the server on a free port, sets URL and SERVER_PID.
start_server() {
    local store=$1; shift
    "$VSTORE" serve "$store" --listen 127.0.0.1:0 "$@" 2>"$T/serve.log" &
    SERVER_PID=$!
    local i
    # Ready once the whole line is there and /healthz answers at its address (one run in CI
    # found a server that was up but never reached at the address read).
    for i in $(seq 100); do
        URL=$(grep -o 'listening on http://[0-9.]*:[0-9]*$' "$T/serve.log" | sed 's/listening on //')
        if [ -n "$URL" ] &&
            [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")" = 200 ]; then
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    fail "server did not start (address read: '$URL'): $(cat "$T/serve.log")"
    exit 1
}
# stop_server: SIGTERM, and the server exits 0.
stop_server() {
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID"
    local rc=$?
    [ "$rc" = 0 ] || fail "server exited $rc after SIGTERM: $(tail -3 "$T/serve.log")"
    SERVER_PID=
}
# http WANT METHOD PATH [CURL ARGS...]: the response's status is WANT; its body in $T/body.
http() {
    local want=$1 method=$2 path=$3; shift 3
    local got
    got=$(curl -s -o "$T/body" -w '%{http_code}' -X "$method" \
        -H "Authorization: Bearer $TOKEN" "$@" "$URL$path")
    [ "$got" = "$want" ] || fail "$method $path: status $got, wanted $want: $(head -c 300 "$T/body")"
}
# http_error WANT CODE FRAGMENT METHOD PATH [CURL ARGS...]: an error object with that code and a
# message that mentions FRAGMENT.
http_error() {
    local want=$1 code=$2 fragment=$3; shift 3
    http "$want" "$@"
    jq_check --arg c "$code" '.error.code == $c' "$T/body" "$* : error code, wanted $code"
    jq -r .error.message "$T/body" | grep -q -- "$fragment" ||
        fail "$*: message lacks '$fragment': $(cat "$T/body")"
}
# wait_task ID: polls /check until the task has ended; its last answer in $T/body.
wait_task() {
    local i
    for i in $(seq 600); do
        http 200 GET "/check?task_id=$1"
        [ "$(jq -r .status "$T/body")" != Pending ] && return 0
        sleep 0.1
    done
    fail "task $1 still pending after 60 s"
}
# index_task WANT_STATUS QUERY FILE: POST /index with FILE as its body, waits for the task,
# and checks that it ended in WANT_STATUS (Complete or Error).
index_task() {
    http 202 POST "/index?$2" --data-binary "@$3"
    local id
    id=$(jq -r .task_id "$T/body")
    wait_task "$id"
    jq_check --arg s "$1" '.status == $s' "$T/body" "index $2: status, wanted $1"
}
# same_json FILE1 FILE2 WHAT: the two hold the same JSON.
same_json() {
    cmp -s <(jq -S . "$1") <(jq -S . "$2") ||
        fail "$3: $(diff <(jq -S -c . "$1") <(jq -S -c . "$2") | head -c 600)"
}
jq_check() {
    if [ "$1" = --arg ]; then
        jq -e --arg "$2" "$3" "$4" "$5" >/dev/null || fail "$6: $(head -c 600 "$5")"
    else
        jq -e "$1" "$2" >/dev/null || fail "$3: $(head -c 600 "$2")"
    fi
}

# The command line's store R and the server's store S, from the same inputs.
R="$T/cli-store"
S="$T/served"
for st in "$R" "$S"; do
    "$VSTORE" init "$st" >/dev/null && "$VSTORE" domain create "$st" d --dim 8 >/dev/null ||
        { echo "FAIL: cannot make $st"; exit 1; }
done
"$VSTORE" index "$R" --domain d --commit c1 --snapshot "$I/base.jsonl" --json -q >"$T/r1.json"
"$VSTORE" index "$R" --domain d --commit c2 --parent c1 --ops "$I/ops2.jsonl" --json -q >"$T/r2.json"

start_server "$S" --token-file "$T/token"

# ---- authentication ------------------------------------------------------------------------
got=$(curl -s -o "$T/body" -w '%{http_code}' "$URL/healthz")
[ "$got" = 200 ] || fail "healthz without a token: $got"
jq_check '.status == "ok"' "$T/body" "healthz"
got=$(curl -s -o "$T/body" -w '%{http_code}' "$URL/domains")
[ "$got" = 401 ] || fail "domains without a token: $got"
jq_check '.error.code == "unauthorized"' "$T/body" "401 body"
got=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer ${TOKEN}x" "$URL/domains")
[ "$got" = 401 ] || fail "domains with a wrong token: $got"
got=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Basic $TOKEN" "$URL/domains")
[ "$got" = 401 ] || fail "domains with another scheme: $got"
got=$(curl -s -o "$T/body" -w '%{http_code}' -X POST -H "Authorization: Bearer x" \
    --data-binary "@$I/ops2.jsonl" "$URL/index?domain=d&commit=sneaky")
[ "$got" = 401 ] || fail "index without the token: $got"

# ---- index, check, log ---------------------------------------------------------------------
index_task Complete "domain=d&commit=c1&snapshot=1" "$I/base.jsonl"
jq '.commit' "$T/body" >"$T/c1.json"
index_task Complete "domain=d&commit=c2&previous=c1" "$I/ops2.jsonl"
jq '.commit' "$T/body" >"$T/c2.json"
for c in 1 2; do
    cmp -s <(jq -c '{inserted, deleted, replaced, live, parent}' "$T/c$c.json") \
        <(jq -c '{inserted, deleted, replaced, live, parent}' "$T/r$c.json") ||
        fail "commit c$c counts differ from the CLI's: $(cat "$T/c$c.json")"
done
http 200 GET "/log?domain=d&commit=c2"
"$VSTORE" log "$S" --domain d --commit c2 --json >"$T/cli-log.json"
same_json "$T/body" "$T/cli-log.json" "log of c2"
http 200 GET "/log?domain=d"
[ "$(jq length "$T/body")" = 2 ] || fail "log of d: $(cat "$T/body")"
http 200 GET /domains
"$VSTORE" domain list "$S" --json >"$T/cli-domains.json"
same_json "$T/body" "$T/cli-domains.json" "domains"

# ---- search, similar, duplicates against the CLI on the same store -------------------------
http 200 POST "/search?domain=d&commit=c2&count=10" --data-binary "@$I/queries.json"
"$VSTORE" search "$S" --domain d --commit c2 --vector-file "$I/queries.json" -k 10 --json >"$T/cli.json"
same_json "$T/body" "$T/cli.json" "search of 20 queries"
jq '.[0]' "$T/cli.json" >"$T/first.json"
http 200 POST "/search?domain=d&commit=c2&count=10" --data-binary "@$I/query.json"
same_json "$T/body" "$T/first.json" "search of one query"
http 200 POST "/search?domain=d&commit=c2&count=5&ef=200&exact=1" --data-binary "@$I/queries.json"
"$VSTORE" search "$R" --domain d --commit c2 --vector-file "$I/queries.json" -k 5 --exact --json >"$T/cli.json"
same_json "$T/body" "$T/cli.json" "exact search, against the CLI's own store"
http 200 POST "/search?domain=d&commit=c1&count=3&ef=16" --data-binary "@$I/query.json"
"$VSTORE" search "$S" --domain d --commit c1 --vector-file "$I/query.json" -k 3 --ef 16 --json >"$T/cli.json"
same_json "$T/body" "$T/cli.json" "search of c1 at ef 16"
id=$(jq -r '.[0].id' "$T/first.json")
http 200 GET "/similar?domain=d&commit=c2&id=$id&count=7"
"$VSTORE" similar "$S" --domain d --commit c2 --id "$id" -k 7 --json >"$T/cli.json"
same_json "$T/body" "$T/cli.json" "similar"
"$VSTORE" index "$S" --domain d --commit c2dups --parent c2 --ops "$I/dups.jsonl" -q >/dev/null ||
    fail "CLI index beside the server failed"
http 200 GET "/duplicates?domain=d&commit=c2dups&threshold=0.001"
"$VSTORE" duplicates "$S" --domain d --commit c2dups --threshold 0.001 | jq -s . >"$T/cli.json"
same_json "$T/body" "$T/cli.json" "duplicates"
jq_check 'length >= 1 and .[0].a == "dupA" and .[0].b == "dupB"' "$T/body" "duplicates found"

# ---- assign --------------------------------------------------------------------------------
http 200 GET "/assign?domain=d&source_commit=c2&target_commit=c3"
jq_check '.commit == "c3" and .parent == "c2" and .graph_owner == "c2"' "$T/body" "assign"
http 200 POST "/search?domain=d&commit=c3&count=10" --data-binary "@$I/query.json"
same_json "$T/body" "$T/first.json" "search of the assigned commit"
http_error 409 conflict "c3" GET "/assign?domain=d&source_commit=c2&target_commit=c3"
http_error 404 not_found "nope" GET "/assign?domain=d&source_commit=nope&target_commit=c4"

# ---- errors: each names what is at fault, and changes nothing ------------------------------
"$VSTORE" log "$S" --domain d --json >"$T/log.before"
http_error 404 not_found "'zz'" GET "/search?domain=zz&commit=c1" -X POST --data-binary "@$I/query.json"
http_error 404 not_found "c9" POST "/search?domain=d&commit=c9" --data-binary "@$I/query.json"
http_error 404 not_found "no-such-id" GET "/similar?domain=d&commit=c2&id=no-such-id"
http_error 404 not_found "nope" GET "/check?task_id=nope"
http_error 404 not_found "/nowhere" GET /nowhere
http_error 400 invalid_argument "'commit'" POST "/search?domain=d" --data-binary "@$I/query.json"
http_error 400 invalid_argument "'count'" POST "/search?domain=d&commit=c2&count=ten" --data-binary "@$I/query.json"
http_error 400 invalid_argument "'count'" POST "/search?domain=d&commit=c2&count=0" --data-binary "@$I/query.json"
http_error 400 invalid_argument "max-count" POST "/search?domain=d&commit=c2&count=10001" --data-binary "@$I/query.json"
http_error 400 invalid_argument "'exact'" POST "/search?domain=d&commit=c2&exact=maybe" --data-binary "@$I/query.json"
http_error 400 invalid_argument "request body" POST "/search?domain=d&commit=c2" --data-binary '[1, 2'
http_error 400 invalid_argument "3 components; domain 'd' has 8" POST "/search?domain=d&commit=c2" --data-binary '[1, 2, 3]'
http_error 400 invalid_argument "query 1" POST "/search?domain=d&commit=c2" --data-binary '[[1,2,3,4,5,6,7,8], [1, 2]]'
http_error 400 invalid_argument "too large" POST "/search?domain=d&commit=c2" --data-binary '[1,2,3,4,5,6,7,5e38]'
http_error 400 invalid_argument "embed" POST "/search?domain=d&commit=c2" --data-binary '{"text": "a query"}'
http_error 400 invalid_argument "'threshold'" GET "/duplicates?domain=d&commit=c2&threshold=-1"
http_error 404 not_found "'zz'" POST "/index?domain=zz&commit=x" --data-binary "@$I/ops2.jsonl"
http_error 409 conflict "c2" POST "/index?domain=d&commit=c2&previous=c1" --data-binary "@$I/ops2.jsonl"
http_error 404 not_found "c9" POST "/index?domain=d&commit=x&previous=c9" --data-binary "@$I/ops2.jsonl"
# A malformed body fails its task, naming the line, and commits nothing.
index_task Error "domain=d&commit=bad&previous=c2" "$I/bad_len.jsonl"
jq_check '.code == "invalid_argument" and (.message | test("request body:2: "))' "$T/body" "bad body's task"
index_task Error "domain=d&commit=bad&previous=c2" "$I/conflict.jsonl"
jq_check '.code == "conflict"' "$T/body" "a conflicting body's task"
# Two index tasks and one assignment completed, two tasks failed.
http 200 GET /statistics
jq_check '.tasks.completed == 3 and .tasks.failed == 2 and .tasks.queued == 0
    and .index_pool.commits >= 1 and (.vector_files[0].mode == "mapped")' "$T/body" "statistics"
"$VSTORE" log "$S" --domain d --json >"$T/log.after"
cmp -s "$T/log.before" "$T/log.after" || fail "failed requests changed the log"
stop_server

# ---- limits: body, query count, queue, memory ------------------------------------------------
start_server "$S" --max-body-bytes 4K --max-queries 3 --max-queued-tasks 1 --max-index-memory 512
http_error 413 too_large "4096" POST "/index?domain=d&commit=big&previous=c2" --data-binary "@$I/ops2.jsonl"
http_error 413 too_large "max-queries" POST "/search?domain=d&commit=c2" \
    --data-binary '[[1,2,3,4,5,6,7,8],[1,2,3,4,5,6,7,8],[1,2,3,4,5,6,7,8],[1,2,3,4,5,6,7,8]]'
head -c 4000 "$I/ops2.jsonl" | sed '$d' >"$T/small-ops.jsonl"
index_task Error "domain=d&commit=mem&previous=c1" "$T/small-ops.jsonl"
jq_check '.code == "exhausted" and (.message | test("max-index-memory"))' "$T/body" "memory bound"
stop_server

# ---- statistics, in pool mode ----------------------------------------------------------------
start_server "$S" --mode pool --pool-budget 64K
http 200 POST "/search?domain=d&commit=c2&count=10" --data-binary "@$I/queries.json"
"$VSTORE" search "$S" --domain d --commit c2 --vector-file "$I/queries.json" -k 10 --json >"$T/cli.json"
same_json "$T/body" "$T/cli.json" "search in pool mode"
http 200 GET /statistics
jq_check '.index_pool.commits == 1 and .index_pool.loads == 1
    and (.vector_files | length) == 1 and .vector_files[0].domain == "d"
    and .vector_files[0].mode == "pool" and .vector_files[0].pool.frames == 16
    and .vector_files[0].pool.misses > 0 and .tasks == {"queued": 0, "running": 0, "completed": 0, "failed": 0}' \
    "$T/body" "statistics in pool mode"
stop_server

# ---- a client that sends one byte at a time is cut off ---------------------------------------
start_server "$S" --request-timeout 1
port=${URL##*:}
exec 3<>"/dev/tcp/127.0.0.1/$port"
request=$'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n'
cut_off=0
for ((i = 0; i < ${#request}; i++)); do
    printf '%s' "${request:i:1}" >&3 2>/dev/null || { cut_off=1; break; }
    sleep 0.1
done
timeout 10 cat <&3 >"$T/slow.out"
rc=$?
exec 3>&-
[ "$rc" = 124 ] && fail "a slow client's connection stayed open"
grep -q "200 OK" "$T/slow.out" && fail "a client sending one byte per 0.1 s past --request-timeout 1 was served"
http 200 GET /healthz
stop_server

# ---- 8 concurrent search clients while an index task runs -------------------------------------
# A bigger set for the task: 20,000 random vectors in a second domain.
"$VSTORE" domain create "$S" big --dim 8 >/dev/null
awk 'BEGIN { srand(7); for (i = 0; i < 20000; i++) { printf "{\"id\": \"v%d\", \"vector\": [", i;
    for (j = 0; j < 8; j++) printf "%s%.5f", (j ? "," : ""), rand(); print "]}" } }' >"$T/big.jsonl"
start_server "$S"
"$VSTORE" search "$S" --domain d --commit c2 --vector-file "$I/queries.json" -k 10 --json >"$T/expected.json"
http 202 POST "/index?domain=big&commit=b1&snapshot=1" --data-binary "@$T/big.jsonl"
big_task=$(jq -r .task_id "$T/body")
for client in $(seq 8); do
    (
        for round in $(seq 15); do
            code=$(curl -s -o "$T/client$client.json" -w '%{http_code}' -X POST \
                --data-binary "@$I/queries.json" "$URL/search?domain=d&commit=c2&count=10")
            if [ "$code" != 200 ] || ! cmp -s <(jq -S . "$T/client$client.json") <(jq -S . "$T/expected.json"); then
                echo "client $client round $round: $code"
            fi
        done
    ) >"$T/client$client.errors" &
done
wait $(jobs -p | grep -v "^$SERVER_PID$") 2>/dev/null
for client in $(seq 8); do
    [ -s "$T/client$client.errors" ] && fail "concurrent search: $(head -3 "$T/client$client.errors")"
done
wait_task "$big_task"
jq_check '.status == "Complete" and .commit.live == 20000' "$T/body" "the big task"
stop_server

# ---- SIGTERM during an index task, then a restart ---------------------------------------------
sed 's/"vector": \[0/"vector": [1/' "$T/big.jsonl" >"$T/big2.jsonl"
start_server "$S" --max-queued-tasks 1
http 202 POST "/index?domain=big&commit=b2&previous=b1&snapshot=1" --data-binary "@$T/big.jsonl"
http 202 POST "/index?domain=big&commit=b3&previous=b1&snapshot=1" --data-binary "@$T/big2.jsonl"
# b2 runs (20,000 vectors take seconds to read and build), b3 waits: the queue is full.
http_error 429 exhausted "max-queued-tasks" POST "/index?domain=big&commit=b4&previous=b1&snapshot=1" \
    --data-binary "@$T/big2.jsonl"
http_error 409 conflict "earlier task" POST "/index?domain=big&commit=b3&previous=b1" --data-binary '{}'
stop_server
grep -q "SIGTERM" "$T/serve.log" || fail "the server did not say it stopped on SIGTERM"
start_server "$S"
http 200 GET "/log?domain=big"
jq_check 'map(.commit) | index("b1") != null' "$T/body" "b1 after the restart"
for c in b2 b3; do
    # A task cut short leaves no commit, one that finished a whole one: never a half.
    if jq -e --arg c "$c" 'map(.commit) | index($c) != null' "$T/body" >/dev/null; then
        http 200 POST "/search?domain=big&commit=$c&count=3" --data-binary '[0,0,0,0,0,0,0,0]'
    fi
done
http 200 POST "/search?domain=d&commit=c2&count=10" --data-binary "@$I/queries.json"
same_json "$T/body" "$T/expected.json" "c2 after the restart"
"$VSTORE" inspect "$S" --verify >"$T/verify.out" 2>&1 || fail "inspect --verify after the restart: $(tail -5 "$T/verify.out")"
stop_server

# ---- text in: operations with a "string", and {"text": ...} queries ---------------------------
"$VSTORE" domain create "$S" t --dim 64 >/dev/null
EMBED="'$EMBEDDER' --dimension 64"
text() { echo "doc $1 about topic $(($1 % 5)) and word$1"; }
for i in $(seq 0 39); do
    jq -cn --arg id "doc-$i" --arg t "$(text "$i")" '{id: $id, op: "Inserted", string: $t}'
done >"$T/text-ops.jsonl"
start_server "$S" --embed-command "$EMBED" --embed-batch-size 8
index_task Complete "domain=t&commit=t1" "$T/text-ops.jsonl"
jq_check '.commit.inserted == 40 and .commit.live == 40' "$T/body" "text operations"
for i in 0 13 39; do
    http 200 POST "/search?domain=t&commit=t1&count=3" --data-binary "$(jq -cn --arg t "$(text "$i")" '{text: $t}')"
    jq_check ".[0].id == \"doc-$i\" and .[0].distance == 0 and length == 3" "$T/body" "text search of doc-$i"
done
Q="topic 2 and other words"
http 200 POST "/search?domain=t&commit=t1&count=5" --data-binary "$(jq -cn --arg t "$Q" '{text: $t}')"
cp "$T/body" "$T/by-text.json"
"$VSTORE" search "$S" --domain t --commit t1 --text "$Q" --embed-command "$EMBED" -k 5 --json >"$T/cli.json"
same_json "$T/by-text.json" "$T/cli.json" "text search against the CLI's"
jq -cn --arg t "$(text 3) changed" '{id: "doc-3", op: "Changed", string: $t}' >"$T/text-ops2.jsonl"
echo '{"id": "doc-4", "op": "Deleted"}' >>"$T/text-ops2.jsonl"
index_task Complete "domain=t&commit=t2&previous=t1" "$T/text-ops2.jsonl"
jq_check '.commit.replaced == 1 and .commit.deleted == 1 and .commit.live == 39' "$T/body" "text changes"
# A text that is not UTF-8 is no JSON string; an empty one is no text.
http_error 400 invalid_argument "UTF-8" POST "/search?domain=t&commit=t1" --data-binary $'{"text": "\xff"}'
http_error 400 invalid_argument "request body: text: " POST "/search?domain=t&commit=t1" --data-binary '{"text": ""}'
http_error 400 invalid_argument '{"text"' POST "/search?domain=t&commit=t1" --data-binary '{"txt": "a"}'
stop_server
# Without an embedder, a text operation fails its task and a text query is refused.
start_server "$S"
index_task Error "domain=t&commit=t3&previous=t2" "$T/text-ops2.jsonl"
jq_check '.code == "invalid_argument" and (.message | test("request body:1: .*embed"))' "$T/body" "text without embedder"
http_error 400 invalid_argument "embed-command" POST "/search?domain=t&commit=t1" --data-binary '{"text": "a"}'
stop_server
# Embedders that fail: each fails its task or query with a message naming the command, commits
# nothing, and the server keeps serving.
for misbehaviour in "--exit-after 0" "--hang-after 0" "--garbage" "--wrong-count"; do
    start_server "$S" --embed-command "'$EMBEDDER' --dimension 64 $misbehaviour" --embed-timeout 0.5
    index_task Error "domain=t&commit=t3&previous=t2" "$T/text-ops2.jsonl"
    jq_check '.code == "io" and (.message | test("embed command"))' "$T/body" "embedder $misbehaviour: task"
    http_error 500 io "embed command" POST "/search?domain=t&commit=t1" --data-binary '{"text": "a"}'
    http 200 POST "/search?domain=d&commit=c2&count=10" --data-binary "@$I/queries.json"
    same_json "$T/body" "$T/expected.json" "vector search beside embedder $misbehaviour"
    stop_server
done
"$VSTORE" log "$S" --domain t --json | jq -e 'map(.commit) | index("t3") == null' >/dev/null ||
    fail "a failed embedder's task committed t3"

# ---- the listen address --------------------------------------------------------------------
expect 1 "$VSTORE" serve "$S" --listen 0.0.0.0:0
one_line_error "token-file"
expect 1 "$VSTORE" serve "$S" --listen 127.0.0.1:99999
one_line_error "port"
expect 1 "$VSTORE" serve "$S" --listen 127.0.0.1:0 --token-file "$T/no-such-token"
one_line_error "no-such-token"

finish serve.http
