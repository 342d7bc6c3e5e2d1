"""Fixtures of the vstore Python tests: stores in temporary directories, seeded data, the CLI."""

import gc
import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

import vstore

ROOT = pathlib.Path(__file__).resolve().parents[2]

# 1,500 items: more than the exact-search threshold (1,000), so that search goes through the
# graph, and small enough that a commit takes well under a second.
ITEMS = 1500
DIM = 16


def item_ids(n, prefix="item-"):
    return [f"{prefix}{i}" for i in range(n)]


@pytest.fixture
def data():
    """Seeded (ITEMS, DIM) float32 vectors and their ids."""
    rng = np.random.default_rng(7)
    return item_ids(ITEMS), rng.standard_normal((ITEMS, DIM)).astype(np.float32)


@pytest.fixture
def queries():
    return np.random.default_rng(11).standard_normal((20, DIM)).astype(np.float32)


@pytest.fixture
def store_path(tmp_path):
    yield str(tmp_path / "store")
    # Stores still referenced by a failing test's traceback would keep their directory open.
    gc.collect()


@pytest.fixture
def store(store_path):
    return vstore.Store.create(store_path)


@pytest.fixture
def l2_commit(store, data):
    """Domain "d" (l2) with commit "c1" holding `data`; returns (store, ids, vectors)."""
    ids, vectors = data
    store.create_domain("d", dim=DIM, metric="l2")
    with store.begin_commit("d", "c1") as c:
        c.insert(ids, vectors)
    return store, ids, vectors


def cli_path():
    return os.environ.get("VSTORE_CLI", str(ROOT / "build" / "tools" / "vstore"))


def run_cli(*args):
    """Runs the vstore command line with --json and returns its parsed output."""
    out = subprocess.run([cli_path(), *args, "--json"], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout)

