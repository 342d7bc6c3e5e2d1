"""Store: create, open, the same Store on reopen, domains, commits and log as the CLI shows them."""

import gc
import os
import threading

import pytest

import vstore
from conftest import DIM, run_cli


def test_create_then_open_returns_the_same_store(store_path):
    created = vstore.Store.create(store_path)
    assert vstore.Store.open(store_path) is created
    assert vstore.Store.open(store_path + "/") is created
    assert vstore.Store.open(os.path.relpath(store_path)) is created
    link = store_path + "-link"
    os.symlink(store_path, link)
    assert vstore.Store.open(link) is created
    assert created.path


def test_reopen_after_the_last_reference_is_gone(store_path):
    store = vstore.Store.create(store_path)
    store.create_domain("d", dim=4)
    del store
    gc.collect()
    reopened = vstore.Store.open(store_path, mode="pool", pool_budget=1 << 20)
    assert [d.name for d in reopened.domains()] == ["d"]


def test_a_snapshot_keeps_its_store_open(l2_commit, store_path):
    store, _, _ = l2_commit
    snap = store.open_commit("d", "c1")
    del store, l2_commit
    gc.collect()
    assert len(snap) == 1500
    # The store is still open (the snapshot holds it): opening returns it, not a Conflict.
    again = vstore.Store.open(store_path)
    assert again.open_commit("d", "c1").info.commit == "c1"


def test_create_where_a_store_is_conflict(store_path):
    vstore.Store.create(store_path)
    with pytest.raises(vstore.Conflict):
        vstore.Store.create(store_path)


def test_open_without_a_store_is_not_found(tmp_path):
    with pytest.raises(vstore.NotFound) as e:
        vstore.Store.open(str(tmp_path / "nothing"))
    assert str(e.value).startswith("not found: ")
    assert "\n" not in str(e.value)


def test_bad_mode_is_invalid_argument(store_path):
    with pytest.raises(vstore.InvalidArgument, match="mode"):
        vstore.Store.create(store_path, mode="mmap")
    with pytest.raises(vstore.InvalidArgument, match="pool_budget"):
        vstore.Store.create(store_path, mode="pool", pool_budget=0)


def test_create_domain_and_domains(store):
    d = store.create_domain("admin/star_wars", dim=DIM, metric="ip", m=8, ef_construction=50)
    assert (d.name, d.dimension, d.metric, d.m, d.ef_construction) == (
        "admin/star_wars", DIM, "ip", 8, 50)
    store.create_domain("a", dim=3)
    assert [x.name for x in store.domains()] == ["a", "admin/star_wars"]
    assert store.domain("a").metric == "cosine"
    assert store.domain("a").created.endswith("Z")
    with pytest.raises(vstore.Conflict):
        store.create_domain("a", dim=3)
    with pytest.raises(vstore.NotFound):
        store.domain("b")
    with pytest.raises(vstore.InvalidArgument, match="metric"):
        store.create_domain("b", dim=3, metric="hamming")
    with pytest.raises(vstore.InvalidArgument):
        store.create_domain("b", dim=0)
    with pytest.raises(TypeError):
        store.create_domain("b", 3)  # dim is keyword-only


def test_commits_and_log_are_what_the_cli_shows(l2_commit, store_path, data):
    store, ids, vectors = l2_commit
    with store.begin_commit("d", "c2", "c1") as c:
        c.remove(ids[:10])
        c.replace(ids[10:15], vectors[20:25])
    assert c.info.commit == "c2"
    assert [x.commit for x in store.commits("d")] == ["c1", "c2"]
    log = store.log("d", "c2")
    assert [x.commit for x in log] == ["c2", "c1"]
    assert (log[0].parent, log[0].deleted, log[0].replaced, log[0].live) == ("c1", 10, 5, 1490)
    assert log[1].parent is None and log[1].inserted == 1500
    assert store.commit("d", "c1").to_dict() == log[1].to_dict()

    assert [x.to_dict() for x in log] == run_cli("log", store_path, "--domain", "d",
                                                 "--commit", "c2")
    # `domain list` adds each domain's number of commits to the domain's record.
    assert [{**x.to_dict(), "commits": len(store.commits(x.name))} for x in store.domains()] == \
        run_cli("domain", "list", store_path)
    # The attributes are the dict's keys, with the same values.
    for info in (log[0], store.domain("d")):
        for key, value in info.to_dict().items():
            assert getattr(info, key) == value
    with pytest.raises(vstore.NotFound):
        store.commits("nope")
    with pytest.raises(vstore.NotFound):
        store.commit("d", "c9")


def test_assign_shares_the_graph(l2_commit):
    store, _, _ = l2_commit
    info = store.assign("d", "c1", "c1b")
    assert (info.parent, info.graph_owner) == ("c1", "c1")
    assert store.open_commit("d", "c1b").ids() == store.open_commit("d", "c1").ids()


def test_threads_opening_one_path_at_once_share_one_store(store_path):
    vstore.Store.create(store_path).create_domain("d", dim=4)
    gc.collect()
    opened, errors = [], []
    start = threading.Barrier(4)

    def open_it():
        try:
            start.wait()
            opened.append(vstore.Store.open(store_path))
        except Exception as e:  # handed to the main thread, which fails the test
            errors.append(e)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(opened) == 4
    assert all(s is opened[0] for s in opened)
