"""Pack: written from a store as a directory and as .tar.xz, opened without the store, the same
answers."""

import gc
import os

import numpy as np
import pytest

import vstore


@pytest.mark.parametrize("name", ["pack", "pack.tar.xz"])
def test_round_trip(l2_commit, tmp_path, queries, name):
    store, ids, _ = l2_commit
    path = str(tmp_path / name)
    config = vstore.Pack.write(store, "d", "c1", path)
    assert (config["domain"], config["commit"], config["count"], config["metric"]) == (
        "d", "c1", 1500, "l2")
    want = store.open_commit("d", "c1").search(queries, k=10)
    with pytest.raises(vstore.Conflict):
        vstore.Pack.write(store, "d", "c1", path)
    with pytest.raises(vstore.NotFound):
        vstore.Pack.write(store, "d", "c9", str(tmp_path / "other"))
    del store, l2_commit
    gc.collect()
    pack = vstore.Pack.open(path)
    assert pack.kind == ("tar.xz" if name.endswith(".tar.xz") else "directory")
    assert pack.config == config and pack.path == path
    snap = pack.snapshot()
    del pack
    gc.collect()
    found, distances = snap.search(queries, k=10)
    assert found == want[0]
    np.testing.assert_array_equal(distances, want[1])
    assert len(snap) == 1500 and snap.ids() == sorted(ids)


def test_a_damaged_member_is_corruption(l2_commit, tmp_path):
    store, _, _ = l2_commit
    path = tmp_path / "pack"
    vstore.Pack.write(store, "d", "c1", str(path))
    member = path / "vectors"
    data = bytearray(member.read_bytes())
    data[len(data) // 2] ^= 0xFF
    os.chmod(member, 0o644)
    member.write_bytes(bytes(data))
    with pytest.raises(vstore.Corruption) as e:
        vstore.Pack.open(str(path))
    assert str(e.value).startswith("corruption: ")
