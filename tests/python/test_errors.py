"""The exception classes, the I/O one also an OSError, and a docstring on everything public."""

import gc
import inspect
import pathlib

import numpy as np
import pytest

import vstore


def test_hierarchy():
    for name in ("NotFound", "InvalidArgument", "Corruption", "Conflict", "Exhausted", "IOError"):
        cls = getattr(vstore, name)
        assert issubclass(cls, vstore.Error) and cls.__doc__
    assert issubclass(vstore.Error, Exception)
    assert issubclass(vstore.IOError, OSError)
    assert not issubclass(vstore.NotFound, OSError)


def test_an_io_error_is_an_oserror(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError) as e:
        vstore.Store.create(str(blocker / "store"))
    assert isinstance(e.value, vstore.IOError) and isinstance(e.value, vstore.Error)
    assert "\n" not in str(e.value)


def test_everything_public_explains_itself():
    assert vstore.__doc__
    for name in vstore.__all__:
        cls = getattr(vstore, name)
        assert cls.__doc__, name
        if not isinstance(cls, type):  # a function: search_many
            continue
        assert cls.__module__ == "vstore"
        for attr, member in vars(cls).items():
            if attr.startswith("_") and attr not in ("__enter__", "__exit__", "__contains__",
                                                     "__len__"):
                continue
            assert getattr(member, "__doc__", None), f"{name}.{attr}"
    doc = vstore.Snapshot.search.__doc__
    assert "(n, m)" in doc and "left out" in doc and "float64" in doc


def test_the_stubs_name_every_public_method():
    stubs = (pathlib.Path(vstore.__file__).parent / "__init__.pyi").read_text()
    for name in vstore.__all__:
        if not isinstance(getattr(vstore, name), type):
            assert f"def {name}(" in stubs, name
            continue
        assert f"class {name}" in stubs, name
        for attr in vars(getattr(vstore, name)):
            if not attr.startswith("_") and inspect.isroutine(getattr(getattr(vstore, name), attr)):
                assert f"def {attr}(" in stubs, f"{name}.{attr}"


def test_a_pool_with_one_frame_is_exhausted_by_duplicates(store_path):
    store = vstore.Store.create(store_path)
    store.create_domain("d", dim=784, metric="l2")
    with store.begin_commit("d", "c1") as c:
        c.insert([f"v{i}" for i in range(300)],
                 np.random.default_rng(5).random((300, 784), dtype=np.float32))
    del store, c
    gc.collect()
    # One page of a 784-d vector file (40,960 bytes): comparing two vectors of different pages
    # needs two frames at once.
    pool = vstore.Store.open(store_path, mode="pool", pool_budget=40960)
    snap = pool.open_commit("d", "c1")
    assert len(snap.search(np.zeros(784, dtype=np.float32), k=5)[0]) == 5
    with pytest.raises(vstore.Exhausted, match="^exhausted: "):
        snap.duplicates(0.5)
