"""Filtered search: Snapshot.search(..., filter=...) and search_exact(..., filter=...) with ids or
a SearchFilter, against brute force over the allowed vectors."""

import numpy as np
import pytest

import vstore
from conftest import ITEMS


def brute_force_ids(ids, vectors, allowed, query, k):
    rows = [i for i, name in enumerate(ids) if name in allowed]
    d = ((vectors[rows] - query) ** 2).sum(axis=1)
    order = np.argsort(d, kind="stable")[:k]
    return [ids[rows[i]] for i in order], d[order]


def test_a_list_of_ids_restricts_search_and_search_exact(l2_commit, queries):
    store, ids, vectors = l2_commit
    snap = store.open_commit("d", "c1")
    allowed = set(ids[::7])
    given = sorted(allowed) + ["never-inserted", ""]
    for search in (snap.search, snap.search_exact):
        found, distances = search(queries[0], k=10, filter=given)
        expected, expected_d = brute_force_ids(ids, vectors, allowed, queries[0], 10)
        assert found == expected
        np.testing.assert_allclose(distances, expected_d, rtol=1e-5)
        many, many_d = search(queries, k=10, filter=iter(given))
        assert many_d.shape == (len(queries), 10)
        for q in range(len(queries)):
            assert many[q] == brute_force_ids(ids, vectors, allowed, queries[q], 10)[0]


def test_a_search_filter_is_resolved_once_and_reused(l2_commit, queries):
    store, ids, vectors = l2_commit
    snap = store.open_commit("d", "c1")
    f = snap.filter(ids[:50] + ids[:50] + ["absent"])
    assert isinstance(f, vstore.SearchFilter)
    assert len(f) == 50 and f.given == 101
    assert (f.domain, f.commit) == ("d", "c1")
    assert "live=50" in repr(f)
    first = snap.search(queries, k=5, filter=f)
    assert first[0] == snap.search(queries, k=5, filter=ids[:50])[0]
    assert snap.search(queries, k=5, filter=f, threads=4)[0] == first[0]
    assert all(set(row) <= set(ids[:50]) for row in first[0])


def test_k_beyond_the_allowed_set_and_an_empty_one(l2_commit, queries):
    store, ids, vectors = l2_commit
    snap = store.open_commit("d", "c1")
    found, distances = snap.search(queries, k=10, filter=["item-3", "item-4", "nope"])
    assert distances.shape == (len(queries), 2)
    assert all(sorted(row) == ["item-3", "item-4"] for row in found)
    found, distances = snap.search(queries[0], k=10, filter=["nope"])
    assert found == [] and distances.shape == (0,)
    found, distances = snap.search_exact(queries, k=10, filter=set())
    assert found == [[]] * len(queries) and distances.shape == (len(queries), 0)


def test_a_large_filter_goes_through_the_graph_and_keeps_recall(l2_commit, queries):
    store, ids, vectors = l2_commit
    snap = store.open_commit("d", "c1")
    # 1,400 of 1,500: above the exact threshold and the crossover, so the graph is searched.
    allowed = set(ids[100:])
    found, _ = snap.search(queries, k=10, filter=allowed)
    hits = 0
    for q in range(len(queries)):
        assert set(found[q]) <= allowed and len(found[q]) == 10
        hits += len(set(found[q]) & set(brute_force_ids(ids, vectors, allowed, queries[q], 10)[0]))
    assert hits / (10 * len(queries)) >= 0.95


def test_bad_filters_are_refused(l2_commit, queries):
    store, ids, vectors = l2_commit
    snap = store.open_commit("d", "c1")
    with pytest.raises(TypeError, match="not one str"):
        snap.search(queries[0], filter="item-1")
    with pytest.raises(TypeError, match="must be str"):
        snap.search(queries[0], filter=["item-1", 2])
    with pytest.raises(TypeError, match="iterable"):
        snap.search_exact(queries[0], filter=5)
    with pytest.raises(TypeError):
        snap.filter(None)
    # A filter of another snapshot: a clear error, never a wrong answer.
    with store.begin_commit("d", "c2", "c1") as c:
        c.remove(ids[:10])
    other = store.open_commit("d", "c2")
    f = other.filter(ids[:20])
    assert len(f) == 10
    with pytest.raises(vstore.InvalidArgument, match="another snapshot"):
        snap.search(queries[0], filter=f)
    with pytest.raises(vstore.InvalidArgument, match="another snapshot"):
        snap.search_exact(queries, filter=f)
    assert sorted(other.search(queries[0], k=ITEMS, filter=f)[0]) == sorted(ids[10:20])
    assert len(snap.search(queries[0], k=ITEMS, filter=ids[:20])[0]) == 20
