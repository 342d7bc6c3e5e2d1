"""CommitBuilder: the with-block, every operation, abandoned commits, dtypes, shapes, errors."""

import gc

import numpy as np
import pytest

import vstore
from conftest import run_cli


@pytest.fixture
def domain(store):
    store.create_domain("d", dim=4, metric="l2")
    return store


def test_with_block_finishes_and_info_is_set(domain):
    with domain.begin_commit("d", "c1") as c:
        assert c.info is None and (c.domain, c.commit) == ("d", "c1")
        c.insert("a", np.array([1, 0, 0, 0], dtype=np.float32))
        c.insert(["b", "c"], np.eye(4, dtype=np.float32)[1:3])
    assert (c.info.commit, c.info.inserted, c.info.live, c.info.parent) == ("c1", 3, 3, None)
    assert domain.open_commit("d", "c1").ids() == ["a", "b", "c"]


def test_finish_without_a_with_block(domain):
    c = domain.begin_commit("d", "c1")
    c.insert("a", [1, 2, 3, 4])
    info = c.finish()
    assert info.commit == "c1" and c.info.live == 1
    with pytest.raises(vstore.InvalidArgument, match="already finished"):
        c.insert("b", [1, 2, 3, 4])
    with pytest.raises(vstore.InvalidArgument, match="already finished"):
        c.finish()


def test_remove_replace_and_put(domain):
    eye = np.eye(4, dtype=np.float32)
    with domain.begin_commit("d", "c1") as c:
        c.insert(["a", "b", "c", "d"], eye)
    with domain.begin_commit("d", "c2", parent="c1") as c:
        c.remove("a")
        c.remove(("b",))
        c.replace("c", eye[0] * 2)
    assert (c.info.deleted, c.info.replaced, c.info.live) == (2, 1, 2)
    snap = domain.open_commit("d", "c2")
    assert snap.ids() == ["c", "d"]
    np.testing.assert_array_equal(snap.vector("c"), eye[0] * 2)
    # Snapshot mode: "d" is kept, "c" changes, "e" is new, nothing else survives.
    with domain.begin_commit("d", "c3", parent="c2") as c:
        c.put(["d", "c", "e"], np.stack([eye[3], eye[1], eye[2]]))
    assert (c.info.inserted, c.info.replaced, c.info.deleted) == (1, 1, 0)
    with domain.begin_commit("d", "c4", parent="c3") as c:
        c.begin_snapshot()
    assert c.info.live == 0 and c.info.deleted == 3
    with domain.begin_commit("d", "c5", parent="c3") as c:
        c.put("e", eye[2])
        with pytest.raises(vstore.InvalidArgument):
            c.insert("f", eye[0])
    assert domain.open_commit("d", "c5").ids() == ["e"]


def state(store, path):
    """What every reader can see of domain "d": the commits, by the library and by the CLI."""
    return ([x.to_dict() for x in store.commits("d")],
            run_cli("log", path, "--domain", "d"))


def test_an_exception_abandons_the_commit(domain, store_path):
    with domain.begin_commit("d", "c1") as c:
        c.insert("a", [1, 0, 0, 0])
    before = state(domain, store_path)
    with pytest.raises(RuntimeError, match="stop"):
        with domain.begin_commit("d", "c2", "c1") as c:
            c.insert("b", [0, 1, 0, 0])
            c.remove("a")
            raise RuntimeError("stop")
    assert c.info is None
    assert state(domain, store_path) == before
    with pytest.raises(vstore.NotFound):
        domain.open_commit("d", "c2")
    with pytest.raises(vstore.InvalidArgument, match="abandoned"):
        c.insert("x", [1, 1, 1, 1])
    # Reopened, the store shows nothing of it either, and the id is free again.
    del domain, c
    gc.collect()
    reopened = vstore.Store.open(store_path)
    assert state(reopened, store_path) == before
    with reopened.begin_commit("d", "c2", "c1") as c:
        c.insert("b", [0, 1, 0, 0])
    assert reopened.open_commit("d", "c2").ids() == ["a", "b"]


def test_a_failing_finish_commits_nothing(domain):
    with domain.begin_commit("d", "c1") as c:
        c.insert("a", [1, 0, 0, 0])
    with pytest.raises(vstore.NotFound):
        with domain.begin_commit("d", "c2", "c1") as c:
            c.replace("zzz", [0, 1, 0, 0])  # raises at once: "zzz" is not in c1
    assert [x.commit for x in domain.commits("d")] == ["c1"]


def test_abandon(domain):
    c = domain.begin_commit("d", "c1")
    c.insert("a", [1, 0, 0, 0])
    with pytest.raises(vstore.Conflict):
        domain.begin_commit("d", "other")  # one writer at a time
    c.abandon()
    assert domain.commits("d") == []
    with domain.begin_commit("d", "c1") as c:
        c.insert("a", [1, 0, 0, 0])


def test_operation_errors(domain):
    with domain.begin_commit("d", "c1") as c:
        c.insert("a", [1, 0, 0, 0])
    c = domain.begin_commit("d", "c2", "c1")
    with pytest.raises(vstore.Conflict):
        c.insert("a", [1, 0, 0, 0])
    with pytest.raises(vstore.NotFound):
        c.remove("nope")
    with pytest.raises(vstore.NotFound):
        c.replace("nope", [1, 0, 0, 0])
    with pytest.raises(vstore.InvalidArgument, match="NaN|finite"):
        c.insert("n", [1, np.nan, 0, 0])
    with pytest.raises(vstore.InvalidArgument, match="components"):
        c.insert("n", [1, 0, 0])
    with pytest.raises(vstore.InvalidArgument, match="2 ids for 3 vectors"):
        c.insert(["x", "y"], np.ones((3, 4)))
    with pytest.raises(vstore.InvalidArgument, match="one id"):
        c.insert("x", np.ones((2, 4)))
    with pytest.raises(vstore.InvalidArgument):
        c.insert("", [1, 0, 0, 0])
    c.abandon()
    with pytest.raises(vstore.NotFound):
        domain.begin_commit("d", "c3", "no-such-parent")
    with pytest.raises(vstore.NotFound):
        domain.begin_commit("no-such-domain", "c3")
    with pytest.raises(vstore.Conflict):
        domain.begin_commit("d", "c1", None)


@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.int32, np.uint8, np.int64])
def test_real_dtypes_are_converted_to_float32(domain, dtype):
    values = np.array([[1, 2, 3, 4], [5, 6, 7, 8]], dtype=dtype)
    with domain.begin_commit("d", "c1") as c:
        c.insert(["a", "b"], values)
    snap = domain.open_commit("d", "c1")
    np.testing.assert_array_equal(snap.vector("b"), values[1].astype(np.float32))
    assert snap.vector("b").dtype == np.float32


@pytest.mark.parametrize("bad", [
    np.array([[1, 2, 3, 4]], dtype=np.complex64),
    np.array([[True, False, True, False]]),
    np.array([["1", "2", "3", "4"]]),
    np.array([[1, 2, 3, 4]], dtype=object),
    [[1, 2], [3]],
    "abcd",
    np.ones((1, 1, 4), dtype=np.float32),
])
def test_other_values_are_invalid_argument(domain, bad):
    c = domain.begin_commit("d", "c1")
    with pytest.raises(vstore.InvalidArgument):
        c.insert("a", bad)
    c.abandon()


def test_ids_must_be_str(domain):
    c = domain.begin_commit("d", "c1")
    with pytest.raises(TypeError):
        c.insert([1, 2], np.ones((2, 4)))
    with pytest.raises(TypeError):
        c.insert(7, np.ones(4))
    c.insert(np.array(["x", "y"]), np.ones((2, 4)))  # a numpy array of str is a sequence of str
    c.finish()


def test_non_contiguous_and_fortran_arrays_are_copied(domain):
    wide = np.arange(48, dtype=np.float32).reshape(6, 8)
    strided = wide[::2, ::2]  # (3, 4), neither row nor column contiguous
    fortran = np.asfortranarray(np.arange(8, dtype=np.float32).reshape(2, 4) + 100)
    with domain.begin_commit("d", "c1") as c:
        c.insert(["s0", "s1", "s2"], strided)
        c.insert(["f0", "f1"], fortran)
    snap = domain.open_commit("d", "c1")
    for i in range(3):
        np.testing.assert_array_equal(snap.vector(f"s{i}"), strided[i])
    np.testing.assert_array_equal(snap.vector("f1"), fortran[1])

