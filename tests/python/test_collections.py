"""Seed 001's collections from Python: search_many over several commits, and a commit made from
one collection of llm's embeddings database (Store.index_llm_collection)."""

import sqlite3

import numpy as np
import pytest

import vstore
from conftest import DIM, run_cli


def two_domains(store, data):
    """Domains "a" and "b" (l2), each a commit "c1" of half of `data`; returns the vectors."""
    ids, vectors = data
    for name, rows in (("a", slice(0, 700)), ("b", slice(700, 1500))):
        store.create_domain(name, dim=DIM, metric="l2")
        with store.begin_commit(name, "c1") as c:
            c.insert(ids[rows], vectors[rows])
    return vectors


def brute_force(vectors, query, k):
    """The k nearest of `vectors` (rows 0-699 in "a", the rest in "b") as search_many names them."""
    d = ((vectors - query) ** 2).sum(axis=1)
    order = sorted(range(len(vectors)), key=lambda i: (d[i], "a" if i < 700 else "b", i))
    return [("a" if i < 700 else "b", "c1", f"item-{i}") for i in order[:k]]


def test_search_many_is_the_brute_force_merge_of_both_domains(store, data, queries):
    vectors = two_domains(store, data)
    snaps = [store.open_commit("a", "c1"), store.open_commit("b", "c1")]
    hits, distances = vstore.search_many(snaps, queries, k=10, exact=True)
    assert len(hits) == len(queries) and distances.shape == (len(queries), 10)
    for q, row in zip(queries, hits):
        assert row == brute_force(vectors, q, 10)
    # The order of the snapshots does not matter; one query of shape (d,) gives one list.
    one, one_d = vstore.search_many(snaps[::-1], queries[0], k=10, exact=True)
    assert one == hits[0] and one_d.shape == (10,)
    np.testing.assert_array_equal(one_d, distances[0])
    # The store's form names the commits.
    named, _ = store.search_many([("b", "c1"), ("a", "c1")], queries, k=10, exact=True)
    assert named == hits


def test_search_many_through_the_graphs_is_the_clis(store, store_path, data, queries, tmp_path):
    two_domains(store, data)
    np.save(tmp_path / "q.npy", queries)
    hits, distances = store.search_many([("a", "c1"), ("b", "c1")], queries, k=5, ef=40)
    cli = run_cli("search", store_path, "--domain", "a", "--domain", "b", "--commit", "c1",
                  "--vector-file", str(tmp_path / "q.npy"), "-k", "5", "--ef", "40")
    assert hits == [[(h["domain"], h["commit"], h["id"]) for h in row] for row in cli]
    np.testing.assert_array_equal(
        distances, np.array([[h["distance"] for h in row] for row in cli], dtype=np.float32))


def test_search_many_errors(store, data, queries):
    two_domains(store, data)
    store.create_domain("wide", dim=DIM + 1, metric="l2")
    with store.begin_commit("wide", "c1") as c:
        c.insert("w", np.ones(DIM + 1, dtype=np.float32))
    a = store.open_commit("a", "c1")
    with pytest.raises(vstore.InvalidArgument, match="'wide'"):
        vstore.search_many([a, store.open_commit("wide", "c1")], queries[0], k=3)
    with pytest.raises(vstore.InvalidArgument):
        vstore.search_many([], queries[0], k=3)
    with pytest.raises(vstore.InvalidArgument):
        vstore.search_many([a, a], queries[0], k=3)
    with pytest.raises(vstore.NotFound, match="nope"):
        store.search_many([("a", "c1"), ("a", "nope")], queries[0], k=3)
    with pytest.raises(vstore.InvalidArgument, match="query 1"):
        bad = queries[:3].copy()
        bad[1, 0] = np.nan
        vstore.search_many([a], bad, k=3)
    # k above every live item leaves results out.
    found, distances = vstore.search_many([a, store.open_commit("b", "c1")], queries[0], k=2000)
    assert len(found) == 1500 and distances.shape == (1500,)


def llm_database(path, rows_by_collection):
    """An llm embeddings database (llm/embeddings_migrations.py's schema) at `path`."""
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE collections (id INTEGER PRIMARY KEY, name TEXT, model TEXT);
        CREATE UNIQUE INDEX idx_collections_name ON collections (name);
        CREATE TABLE embeddings (
            collection_id INTEGER REFERENCES collections(id), id TEXT, embedding BLOB,
            content TEXT, content_blob BLOB, content_hash BLOB, metadata TEXT, updated INTEGER,
            PRIMARY KEY (collection_id, id));
    """)
    for cid, (name, rows) in enumerate(rows_by_collection.items(), start=1):
        db.execute("INSERT INTO collections VALUES (?, ?, 'hash-model')", (cid, name))
        for item_id, vector in rows.items():
            db.execute("INSERT INTO embeddings (collection_id, id, embedding, content, updated) "
                       "VALUES (?, ?, ?, ?, 1700000000)",
                       (cid, item_id, np.asarray(vector, dtype="<f4").tobytes(), f"text {item_id}"))
    db.commit()
    return db


def test_index_llm_collection_takes_one_collection_and_then_only_its_changes(store, tmp_path):
    rng = np.random.default_rng(3)
    alpha = {f"item-{i}": rng.standard_normal(DIM) for i in range(30)}
    beta = {f"item-{i}": rng.standard_normal(DIM) for i in range(10)}  # the same ids
    path = str(tmp_path / "embeddings.db")
    db = llm_database(path, {"alpha": alpha, "beta": beta})
    store.create_domain("A", dim=DIM, metric="l2")
    first = store.index_llm_collection(path, "alpha", "A", "c1")
    assert (first.inserted, first.live) == (30, 30)
    snap = store.open_commit("A", "c1")
    np.testing.assert_array_equal(snap.vector("item-3"), alpha["item-3"].astype(np.float32))

    # An insert, an embedding changed, a delete; beta's rows change too and must not count.
    db.execute("INSERT INTO embeddings (collection_id, id, embedding) VALUES (1, 'new', ?)",
               (np.ones(DIM, dtype="<f4").tobytes(),))
    db.execute("UPDATE embeddings SET embedding = ? WHERE collection_id = 1 AND id = 'item-4'",
               (np.zeros(DIM, dtype="<f4").tobytes(),))
    db.execute("DELETE FROM embeddings WHERE collection_id = 1 AND id = 'item-5'")
    db.execute("DELETE FROM embeddings WHERE collection_id = 2")
    db.commit()
    second = store.index_llm_collection(path, "alpha", "A", "c2", parent="c1")
    assert (second.inserted, second.replaced, second.deleted) == (1, 1, 1)
    assert second.live == 30 and second.parent == "c1"


def test_index_llm_collection_errors_commit_nothing(store, tmp_path):
    path = str(tmp_path / "embeddings.db")
    db = llm_database(path, {"alpha": {"x": np.ones(DIM)}})
    store.create_domain("A", dim=DIM, metric="l2")
    with pytest.raises(vstore.NotFound, match='"alpha"'):  # the message lists the collections
        store.index_llm_collection(path, "gamma", "A", "c1")
    with pytest.raises(vstore.NotFound):
        store.index_llm_collection(str(tmp_path / "missing.db"), "alpha", "A", "c1")
    db.execute("UPDATE embeddings SET embedding = x'000000'")
    db.commit()
    with pytest.raises(vstore.InvalidArgument, match="not a multiple of 4"):
        store.index_llm_collection(path, "alpha", "A", "c1")
    store.create_domain("wide", dim=DIM + 1, metric="l2")
    db.execute("UPDATE embeddings SET embedding = ?", (np.ones(DIM, dtype="<f4").tobytes(),))
    db.commit()
    with pytest.raises(vstore.InvalidArgument, match="components"):
        store.index_llm_collection(path, "alpha", "wide", "c1")
    assert store.commits("A") == [] and store.commits("wide") == []
