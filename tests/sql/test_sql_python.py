"""The vstore SQLite extension through Python's sqlite3 module (spec/sql.md).

Answers equal the vstore command line's on the same store; vstore_index follows the table's
inserts, updates and deletes; two connections at once share one store, which is released when
the last of them closes; errors are sqlite3 errors with the library's one-line message.
"""

import json
import os
import random
import sqlite3
import struct
import subprocess
import threading

import pytest

EXTENSION = os.environ["VSTORE_SQLITE_EXTENSION"]
CLI = os.environ["VSTORE_CLI"]
DIM = 8
ROWS = 1200  # more than the exact threshold (1,000): searches go through the graph


def connect(path):
    conn = sqlite3.connect(path, check_same_thread=False)
    conn.enable_load_extension(True)
    conn.load_extension(EXTENSION)
    conn.enable_load_extension(False)
    return conn


def cli(*args):
    return subprocess.run([CLI, *args], check=True, capture_output=True, text=True).stdout


def cli_json(*args):
    return json.loads(cli(*args, "--json"))


def encode(vector):
    return struct.pack("<" + "f" * len(vector), *vector)


def decode(blob):
    return list(struct.unpack("<" + "f" * (len(blob) // 4), blob))


def cli_search(store, commit, vector, k, *extra, domain="d"):
    return cli_json("search", store, "--domain", domain, "--commit", commit, "--vector",
                    json.dumps(vector), "-k", str(k), *extra)


def index(conn, store, commit, parent, domain="d", table="entries"):
    row = conn.execute("select vstore_index(?, ?, ?, ?, ?)",
                       (store, domain, commit, parent, f"select id, embedding from {table}"))
    return json.loads(row.fetchone()[0])


@pytest.fixture
def setup(tmp_path):
    """A table of ROWS seeded entries with TEXT ids, and an empty store with domain d."""
    rng = random.Random(5)
    db = str(tmp_path / "entries.db")
    vectors = {f"e{i}": [rng.uniform(-1, 1) for _ in range(DIM)] for i in range(ROWS)}
    conn = sqlite3.connect(db)
    conn.execute("create table entries (id text primary key, title text, embedding blob)")
    conn.executemany("insert into entries values (?, ?, ?)",
                     [(i, "title " + i, encode(v)) for i, v in vectors.items()])
    conn.commit()
    conn.close()
    store = str(tmp_path / "store")
    cli("init", store)
    cli("domain", "create", store, "d", "--dim", str(DIM))
    return db, store, vectors


def stored(vector):
    """A vector as float32 holds it."""
    return decode(encode(vector))


def store_fds(store):
    """The descriptors of this process open on files of the store."""
    real = os.path.realpath(store) + "/"
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith(real):
                count += 1
        except OSError:
            pass
    return count


def test_encode_is_struct_pack_and_decode_round_trips():
    conn = connect(":memory:")
    values = [0.1, 1 / 3, -0.0, 1e-45, 3.4e38, -2.5, 123456789, 7, 2.4, 4.1, 1.8]
    blob = conn.execute("select vstore_encode(?)", (json.dumps(values),)).fetchone()[0]
    assert blob == encode(values)
    (text,) = conn.execute("select vstore_decode(?)", (blob,)).fetchone()
    assert encode(json.loads(text)) == blob
    # decode then encode gives back the same bytes, for any finite floats
    rng = random.Random(3)
    for _ in range(50):
        blob = encode([rng.uniform(-1e6, 1e6) * 10 ** rng.randint(-30, 30) for _ in range(16)])
        (text,) = conn.execute("select vstore_decode(?)", (blob,)).fetchone()
        assert encode(json.loads(text)) == blob
        (again,) = conn.execute("select vstore_encode(vstore_decode(?))", (blob,)).fetchone()
        assert again == blob
    assert conn.execute("select vstore_decode(?)", (encode([2.4, 4.1, 1.8]),)).fetchone()[0] == \
        "[2.4,4.1,1.8]"


def test_searches_equal_the_cli(setup):
    db, store, vectors = setup
    conn = connect(db)
    info = index(conn, store, "c1", None)
    assert (info["inserted"], info["live"], info["parent"]) == (ROWS, ROWS, None)
    for i in ["e0", "e17", "e1199"]:
        v = stored(vectors[i])
        want = cli_search(store, "c1", v, 10)
        (ids,) = conn.execute("select vstore_search(?, 'd', 'c1', embedding, 10) from entries "
                              "where id = ?", (store, i)).fetchone()
        assert json.loads(ids) == [h["id"] for h in want]
        (pairs,) = conn.execute("select vstore_search_with_scores(?, 'd', 'c1', ?, 10)",
                                (store, encode(v))).fetchone()
        assert json.loads(pairs) == [[h["id"], h["distance"]] for h in want]
        rows = conn.execute("select k.id, k.distance, k.rank, e.title from "
                            "vstore_knn(?, 'd', 'c1', ?, 10) k join entries e on e.id = k.id "
                            "order by k.rank", (store, encode(v))).fetchall()
        assert rows == [(h["id"], h["distance"], r + 1, "title " + h["id"])
                        for r, h in enumerate(want)]
        exact = cli_search(store, "c1", v, 10, "--exact")
        (agg,) = conn.execute("select vstore_agg_with_scores(id, embedding, ?, 10) from entries",
                              (encode(v),)).fetchone()
        agg = json.loads(agg)
        assert [a[0] for a in agg] == [h["id"] for h in exact]
        assert all(abs(a[1] - h["distance"]) < 1e-5 for a, h in zip(agg, exact))


def test_filtered_searches_equal_the_cli_s_only_ids(setup, tmp_path):
    db, store, vectors = setup
    conn = connect(db)
    index(conn, store, "c1", None)
    v = stored(vectors["e5"])
    # 120 allowed ids (an exact scan over them) and 1,080 (the graph, others navigating)
    for allowed in [[f"e{i}" for i in range(0, ROWS, 10)],
                    [f"e{i}" for i in range(ROWS) if i % 10]]:
        (tmp_path / "allowed.txt").write_text("\n".join(allowed) + "\n")
        want = cli_search(store, "c1", v, 10, "--only-ids", str(tmp_path / "allowed.txt"))
        assert len(want) == 10 and all(h["id"] in allowed for h in want)
        (pairs,) = conn.execute("select vstore_search_with_scores(?, 'd', 'c1', ?, 10, ?)",
                                (store, encode(v), json.dumps(allowed))).fetchone()
        assert json.loads(pairs) == [[h["id"], h["distance"]] for h in want]
        rows = conn.execute("select id, distance from vstore_knn(?, 'd', 'c1', ?, 10, ?) "
                            "order by rank", (store, encode(v), json.dumps(allowed))).fetchall()
        assert rows == [(h["id"], h["distance"]) for h in want]
    # the allowed set from the table itself
    (ids,) = conn.execute("select vstore_search(?, 'd', 'c1', ?, 3, (select json_group_array(id) "
                          "from entries where title in ('title e7', 'title e8')))",
                          (store, encode(v))).fetchone()
    assert sorted(json.loads(ids)) == ["e7", "e8"]
    # the same list on one connection against a later commit, which deleted one of its ids
    conn.execute("delete from entries where id = 'e7'")
    index(conn, store, "c2", "c1")
    sql = "select vstore_search(?, 'd', ?, ?, 3, '[\"e7\", \"e8\"]')"
    def allowed_hits(commit):
        return sorted(json.loads(conn.execute(sql, (store, commit, encode(v))).fetchone()[0]))
    assert allowed_hits("c1") == ["e7", "e8"]
    assert allowed_hits("c2") == ["e8"]
    assert allowed_hits("c1") == ["e7", "e8"]
    with pytest.raises(sqlite3.OperationalError, match="allowed_ids: element 0 is boolean"):
        conn.execute("select vstore_search(?, 'd', 'c1', ?, 3, '[true]')", (store, encode(v)))


def test_index_follows_inserts_updates_and_deletes(setup):
    db, store, vectors = setup
    conn = connect(db)
    index(conn, store, "c1", None)
    conn.executemany("insert into entries values (?, 'new', ?)",
                     [(f"n{i}", encode([i] * DIM)) for i in range(5)])
    conn.executemany("update entries set embedding = ? where id = ?",
                     [(encode([9] * DIM), "e1"), (encode([8] * DIM), "e2"), (encode([7] * DIM), "e3")])
    conn.execute("update entries set title = 'only the title' where id = 'e4'")
    conn.execute("delete from entries where id in ('e5', 'e6')")
    conn.commit()
    info = index(conn, store, "c2", "c1")
    assert (info["inserted"], info["replaced"], info["deleted"]) == (5, 3, 2)
    assert info["live"] == ROWS + 3 and info["unchanged"] == ROWS + 3 - 8
    # The fields of `vstore index --json`, but its timing.
    by_cli = cli_json("index", store, "--domain", "d", "--commit", "c2-cli", "--parent", "c1",
                      "--sqlite", db, "--table", "entries", "-q")
    assert list(info) == [key for key in by_cli if key != "seconds"]
    assert {k: v for k, v in info.items() if k not in ("commit", "created", "graph_file",
                                                      "graph_bytes", "graph_owner")} == \
        {k: v for k, v in by_cli.items() if k not in ("commit", "created", "graph_file",
                                                     "graph_bytes", "graph_owner", "seconds")}
    log = cli_json("log", store, "--domain", "d", "--commit", "c2")
    assert [(c["commit"], c["inserted"], c["replaced"], c["deleted"]) for c in log] == [
        ("c2", 5, 3, 2), ("c1", ROWS, 0, 0)]
    everything = cli_search(store, "c2", [0] * DIM, 5000, "--exact")
    table = {i for (i,) in conn.execute("select id from entries")}
    assert {h["id"] for h in everything} == table
    (near,) = conn.execute("select vstore_search(?, NULL, NULL, ?, 1)",
                           (store, encode([9] * DIM))).fetchone()
    assert json.loads(near) == ["e1"]


def test_a_null_commit_follows_commits_of_other_processes(setup):
    db, store, vectors = setup
    conn = connect(db)
    index(conn, store, "c1", None)
    query = encode([5] * DIM)
    (before,) = conn.execute("select vstore_search(?, 'd', NULL, ?, 1)", (store, query)).fetchone()
    assert json.loads(before) != ["late"]
    conn.execute("insert into entries values ('late', '', ?)", (query,))
    conn.commit()
    cli("index", store, "--domain", "d", "--commit", "c2", "--parent", "c1", "--sqlite", db,
        "--table", "entries", "-q")
    (after,) = conn.execute("select vstore_search(?, 'd', NULL, ?, 1)", (store, query)).fetchone()
    assert json.loads(after) == ["late"]


def test_two_connections_at_once_share_one_store(setup):
    db, store, vectors = setup
    first = connect(db)
    index(first, store, "c1", None)
    second = connect(db)
    queries = [encode(stored(vectors[f"e{i}"])) for i in range(0, ROWS, 60)]
    sql = "select vstore_search(?, 'd', 'c1', ?, 5)"
    want = [first.execute(sql, (store, q)).fetchone()[0] for q in queries]
    assert [second.execute(sql, (store, q)).fetchone()[0] for q in queries] == want

    # Both at once, each from its own thread.
    errors = []

    def run(conn):
        try:
            for _ in range(5):
                got = [conn.execute(sql, (store, q)).fetchone()[0] for q in queries]
                assert got == want
        except Exception as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(c,)) for c in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

    assert store_fds(store) > 0
    first.close()
    assert store_fds(store) > 0  # the second connection still holds it
    assert second.execute(sql, (store, queries[0])).fetchone()[0] == want[0]
    second.close()
    assert store_fds(store) == 0  # released with the last connection
    # and opened again by the next one
    third = connect(db)
    assert third.execute(sql, (store, queries[0])).fetchone()[0] == want[0]
    third.close()
    assert store_fds(store) == 0


def test_import_vstore_and_the_extension_share_one_store(setup):
    """One process, one Store of a directory: the module's and the extension's are the same."""
    vstore = pytest.importorskip("vstore")  # the module is built beside the extension
    db, store, vectors = setup
    conn = connect(db)
    index(conn, store, "c1", None)
    opened = vstore.Store.open(store)  # while the connection holds the store
    with opened.begin_commit("d", "c2", parent="c1") as c:
        c.remove(["e0"])
    sql = "select vstore_search(?, 'd', ?, ?, 1)"
    query = encode(stored(vectors["e0"]))
    assert json.loads(conn.execute(sql, (store, "c1", query)).fetchone()[0]) == ["e0"]
    assert json.loads(conn.execute(sql, (store, "c2", query)).fetchone()[0]) != ["e0"]
    conn.close()
    assert store_fds(store) > 0  # the module still holds it
    del opened, c
    import gc
    gc.collect()
    assert store_fds(store) == 0


def test_a_pack_directory(setup, tmp_path):
    db, store, vectors = setup
    conn = connect(db)
    index(conn, store, "c1", None)
    pack = str(tmp_path / "pack")
    cli("pack", store, pack, "--domain", "d", "--commit", "c1", "-q")
    query = encode(stored(vectors["e9"]))
    sql = "select vstore_search_with_scores(?, ?, ?, ?, 7)"
    want = conn.execute(sql, (store, "d", "c1", query)).fetchone()[0]
    assert conn.execute(sql, (pack, None, None, query)).fetchone()[0] == want
    assert conn.execute(sql, (pack, "d", "c1", query)).fetchone()[0] == want
    with pytest.raises(sqlite3.OperationalError, match="is a pack, not a store"):
        index(conn, pack, "c2", "c1")


def test_aggregate_metrics_and_groups(setup):
    db, store, vectors = setup
    conn = connect(db)
    cli("domain", "create", store, "cos", "--dim", str(DIM), "--metric", "cosine")
    cli("domain", "create", store, "ip", "--dim", str(DIM), "--metric", "ip")
    for domain in ("d", "cos", "ip"):
        index(conn, store, "c1", None, domain=domain)
    query = stored(vectors["e42"])
    for domain, metric in [("d", "l2"), ("cos", "cosine"), ("ip", "ip")]:
        exact = cli_search(store, "c1", query, 8, "--exact", domain=domain)
        (agg,) = conn.execute("select vstore_agg_with_scores(id, embedding, ?, 8, ?) from entries",
                              (encode(query), metric)).fetchone()
        agg = json.loads(agg)
        assert [a[0] for a in agg] == [h["id"] for h in exact], metric
        assert all(abs(a[1] - h["distance"]) < 1e-5 for a, h in zip(agg, exact)), metric
    # One answer per group, over that group's rows only.
    rows = conn.execute("select substr(id, -1) as digit, vstore_agg(id, embedding, ?, 3) "
                        "from entries group by digit order by digit", (encode(query),)).fetchall()
    assert len(rows) == 10
    for digit, ids in rows:
        ids = json.loads(ids)
        assert len(ids) == 3 and all(i.endswith(digit) for i in ids)
        group = sorted((sum((a - b) ** 2 for a, b in zip(stored(v), query)), i)
                       for i, v in vectors.items() if i.endswith(digit))
        assert ids == [i for _, i in group[:3]]
    # Ties go to the rows the query gave first.
    (ids,) = conn.execute("select vstore_agg(id, embedding, ?, 2) from (select 'c' as id, ? as "
                          "embedding union all select 'a', ? union all select 'b', ?)",
                          (encode(query), encode(query), encode(query), encode(query))).fetchone()
    assert json.loads(ids) == ["c", "a"]
    # INTEGER ids stay numbers, as faiss_agg returns them; k above the rows returns them all.
    (ids,) = conn.execute("select vstore_agg(rowid, embedding, ?, 5000) from entries",
                          (encode(query),)).fetchone()
    assert len(json.loads(ids)) == ROWS and all(isinstance(i, int) for i in json.loads(ids))


def test_errors_are_the_library_s_one_line(setup):
    db, store, vectors = setup
    conn = connect(db)
    index(conn, store, "c1", None)
    cli("domain", "create", store, "empty", "--dim", str(DIM))
    zero = encode([0] * DIM)

    def error_of(sql, *args):
        with pytest.raises(sqlite3.OperationalError) as caught:
            conn.execute(sql, args).fetchall()
        message = str(caught.value)
        assert "\n" not in message
        return message

    search = "select vstore_search(?, ?, ?, ?, ?)"
    # The message is the library's, as the command line prints it.
    cli_error = subprocess.run([CLI, "search", store, "--domain", "d", "--commit", "nope",
                                "--vector", json.dumps([0] * DIM)], capture_output=True, text=True)
    assert cli_error.returncode != 0
    assert error_of(search, store, "d", "nope", zero, 3) in cli_error.stderr
    assert error_of(search, store, "d", "c1", b"\0" * 7, 3).endswith(
        "vstore_search: embedding is 7 bytes, not a multiple of 4 (float32)")
    assert "has 3 components; domain 'd' has 8" in error_of(search, store, "d", "c1", encode([1, 2, 3]), 3)
    assert error_of(search, store, "empty", None, zero, 3).startswith("not found:")
    assert "has no commits" in error_of(search, store, "empty", None, zero, 3)
    assert "domains; name one" in error_of(search, store, None, None, zero, 3)
    assert "k must be at least 1" in error_of(search, store, "d", "c1", zero, 0)
    assert "embedding must be a BLOB" in error_of(search, store, "d", "c1", "text", 3)
    assert "store must be TEXT, not INTEGER" in error_of(search, 5, "d", "c1", zero, 3)
    assert "no such store or pack" in error_of(search, store + "-missing", "d", "c1", zero, 3)
    assert "not a multiple of 4" in error_of("select * from vstore_knn(?, 'd', 'c1', ?, 3)",
                                             store, b"\0" * 5)
    assert "NaN" in error_of(search, store, "d", "c1", encode([float("nan")] * DIM), 3)
    assert "embedding has 2 floats" in error_of(
        "select vstore_agg(id, ?, ?, 3) from entries", encode([1, 2]), zero)
    # A failed vstore_index changes nothing.
    before = cli_json("log", store, "--domain", "d")
    assert "components; domain 'd' has 8" in error_of("select vstore_index(?, 'd', 'c2', 'c1', "
                                   "'select id, substr(embedding, 1, 8) from entries')", store)
    assert cli_json("log", store, "--domain", "d") == before
