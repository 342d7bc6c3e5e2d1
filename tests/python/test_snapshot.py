"""Snapshot: search and its shapes, exact search, similar, duplicates, vectors, ids, and the
same answers as the command line."""

import json
import subprocess

import numpy as np
import pytest

import vstore
from conftest import DIM, ITEMS, cli_path, run_cli


def brute_force(vectors, query, k):
    d = ((vectors - query) ** 2).sum(axis=1)
    order = np.argsort(d, kind="stable")[:k]
    return order, d[order]


def test_one_query_gives_a_list_and_a_1d_array(l2_commit, queries):
    store, ids, vectors = l2_commit
    snap = store.open_commit("d", "c1")
    found, distances = snap.search(queries[0], k=5)
    assert isinstance(found, list) and len(found) == 5 and all(isinstance(i, str) for i in found)
    assert distances.dtype == np.float32 and distances.shape == (5,)
    assert list(distances) == sorted(distances)


def test_a_batch_gives_lists_and_an_n_by_k_array(l2_commit, queries):
    store, ids, vectors = l2_commit
    snap = store.open_commit("d", "c1")
    found, distances = snap.search(queries, k=10, ef=200)
    assert len(found) == 20 and all(len(row) == 10 for row in found)
    assert distances.shape == (20, 10) and distances.dtype == np.float32
    # One query at a time, one thread or many: the same answers.
    for i, q in enumerate(queries):
        one_ids, one_d = snap.search(q, k=10, ef=200)
        assert one_ids == found[i]
        np.testing.assert_array_equal(one_d, distances[i])
    single_ids, single_d = snap.search(queries, k=10, ef=200, threads=1)
    assert single_ids == found
    np.testing.assert_array_equal(single_d, distances)
    # At ef=200 on 1,500 items the graph finds the true neighbours of nearly every query.
    recall = np.mean([len(set(found[i]) & {ids[j] for j in brute_force(vectors, q, 10)[0]}) / 10
                      for i, q in enumerate(queries)])
    assert recall >= 0.95


def test_query_dtypes_and_layouts(l2_commit, queries):
    store, _, _ = l2_commit
    snap = store.open_commit("d", "c1")
    want_ids, want_d = snap.search(queries, k=3)
    for variant in (queries.astype(np.float64), queries.tolist(), np.asfortranarray(queries),
                    np.repeat(queries, 2, axis=1)[:, ::2]):
        got_ids, got_d = snap.search(variant, k=3)
        assert got_ids == want_ids
        np.testing.assert_array_equal(got_d, want_d)
    empty_ids, empty_d = snap.search(np.zeros((0, DIM), dtype=np.float32), k=3)
    assert empty_ids == [] and empty_d.shape == (0, 3)


def test_k_above_the_size_leaves_results_out(store):
    store.create_domain("s", dim=2, metric="l2")
    with store.begin_commit("s", "c1") as c:
        c.insert(["a", "b", "c"], np.array([[0, 0], [1, 0], [3, 0]], dtype=np.float32))
    snap = store.open_commit("s", "c1")
    found, distances = snap.search(np.array([[0, 0], [3, 0]], dtype=np.float32), k=10)
    assert found == [["a", "b", "c"], ["c", "b", "a"]]
    np.testing.assert_array_equal(distances, np.array([[0, 1, 9], [0, 4, 9]], dtype=np.float32))
    found, distances = snap.search([1, 0], k=10)
    assert found == ["b", "a", "c"] and distances.shape == (3,)
    found, distances = snap.search_exact([[1, 0]], k=5)
    assert found == [["b", "a", "c"]] and distances.shape == (1, 3)


def test_search_errors(l2_commit, queries):
    store, _, _ = l2_commit
    snap = store.open_commit("d", "c1")
    bad = queries.copy()
    bad[3, 1] = np.nan
    with pytest.raises(vstore.InvalidArgument, match="query 3"):
        snap.search(bad)
    with pytest.raises(vstore.InvalidArgument, match="query 0"):
        snap.search(np.full((2, DIM), np.inf))
    with pytest.raises(vstore.InvalidArgument):
        snap.search(queries[:, :5])
    with pytest.raises(vstore.InvalidArgument, match="shape"):
        snap.search(queries.reshape(4, 5, DIM))
    with pytest.raises(vstore.InvalidArgument, match="k must"):
        snap.search(queries, k=0)
    with pytest.raises(vstore.InvalidArgument, match="ef must"):
        snap.search(queries, ef=0)
    with pytest.raises(vstore.InvalidArgument):
        snap.search(queries.astype(np.complex64))
    with pytest.raises(vstore.InvalidArgument, match="threads"):
        snap.search(queries, threads=-1)


def test_search_exact_is_brute_force(l2_commit, queries):
    store, ids, vectors = l2_commit
    snap = store.open_commit("d", "c1")
    found, distances = snap.search_exact(queries, k=7)
    for i, q in enumerate(queries):
        order, d = brute_force(vectors, q, 7)
        assert found[i] == [ids[j] for j in order]
        np.testing.assert_allclose(distances[i], d, rtol=1e-5)


def test_similar_duplicates_vector_ids_contains_len_info(l2_commit):
    store, ids, vectors = l2_commit
    with store.begin_commit("d", "c2", "c1") as c:
        c.insert("twin", vectors[42])
    snap = store.open_commit("d", "c2")
    near, d = snap.similar("twin", k=3)
    assert near[0] == "item-42" and d[0] == 0 and "twin" not in near and d.shape == (3,)
    assert ("item-42", "twin", 0.0) in snap.duplicates(0.0)
    assert all(dist <= 0.0 for _, _, dist in snap.duplicates(0.0))
    np.testing.assert_array_equal(snap.vector("item-7"), vectors[7])
    assert snap.vector("item-7").dtype == np.float32
    assert "twin" in snap and "nope" not in snap
    assert "twin" not in store.open_commit("d", "c1")
    assert len(snap) == ITEMS + 1 and len(store.open_commit("d", "c1")) == ITEMS
    assert snap.ids() == sorted(ids + ["twin"])
    assert snap.info.commit == "c2" and snap.info.parent == "c1"
    assert snap.domain.dimension == DIM and snap.domain.metric == "l2"
    with pytest.raises(vstore.NotFound):
        snap.vector("nope")
    with pytest.raises(vstore.NotFound):
        snap.similar("nope")


def test_answers_are_the_clis(l2_commit, store_path, queries, tmp_path):
    store, _, _ = l2_commit
    snap = store.open_commit("d", "c1")
    np.save(tmp_path / "q.npy", queries)
    for extra, call in (([], lambda: snap.search(queries, k=10)),
                        (["--ef", "20"], lambda: snap.search(queries, k=10, ef=20)),
                        (["--exact"], lambda: snap.search_exact(queries, k=10))):
        cli = run_cli("search", store_path, "--domain", "d", "--commit", "c1",
                      "--vector-file", str(tmp_path / "q.npy"), "-k", "10", *extra)
        found, distances = call()
        assert found == [[h["id"] for h in row] for row in cli]
        np.testing.assert_array_equal(
            distances, np.array([[h["distance"] for h in row] for row in cli], dtype=np.float32))


def test_cosine_domain(store):
    store.create_domain("c", dim=3)  # cosine is the default metric
    with store.begin_commit("c", "c1") as c:
        c.insert(["x", "y"], np.array([[2, 0, 0], [0, 3, 0]], dtype=np.float32))
        with pytest.raises(vstore.InvalidArgument):
            c.insert("zero", [0, 0, 0])
    snap = store.open_commit("c", "c1")
    np.testing.assert_allclose(snap.vector("x"), [1, 0, 0])
    found, distances = snap.search([5, 1, 0], k=2)
    assert found == ["x", "y"] and distances[0] < distances[1]


def test_similar_and_duplicates_are_the_clis(l2_commit, store_path):
    store, ids, vectors = l2_commit
    with store.begin_commit("d", "c2", "c1") as c:
        c.insert(["twin-a", "twin-b"], vectors[[3, 4]] + np.float32(0.001))
    snap = store.open_commit("d", "c2")
    near, distances = snap.similar("item-3", k=5)
    cli = run_cli("similar", store_path, "--domain", "d", "--commit", "c2", "--id", "item-3",
                  "-k", "5")
    assert near == [h["id"] for h in cli]
    np.testing.assert_array_equal(distances, np.array([h["distance"] for h in cli],
                                                      dtype=np.float32))
    pairs = snap.duplicates(0.01)
    # `duplicates --json` writes JSON Lines, one pair a line.
    out = subprocess.run([cli_path(), "duplicates", store_path, "--domain", "d", "--commit",
                          "c2", "--threshold", "0.01", "--json"],
                         check=True, capture_output=True, text=True).stdout
    cli = [json.loads(line) for line in out.splitlines()]
    assert [(a, b) for a, b, _ in pairs] == [(p["a"], p["b"]) for p in cli]
    assert [np.float32(d) for _, _, d in pairs] == [np.float32(p["distance"]) for p in cli]
    assert ("item-3", "twin-a") in [(a, b) for a, b, _ in pairs]
