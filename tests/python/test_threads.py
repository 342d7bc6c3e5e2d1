"""Four Python threads searching while a fifth commits: the old commit's answers never change,
nothing raises, and the new commit is there at the end."""

import threading

import numpy as np

from conftest import DIM


def test_four_searchers_and_one_committer(l2_commit, queries):
    store, ids, vectors = l2_commit
    snap = store.open_commit("d", "c1")
    want_ids, want_d = snap.search(queries, k=10)
    rng = np.random.default_rng(3)
    new_vectors = rng.standard_normal((1000, DIM)).astype(np.float32)
    errors = []
    committed = threading.Event()

    def search():
        try:
            rounds = 0
            # Until the commit is done, and at least a few rounds, each on a fresh open.
            while not committed.is_set() or rounds < 3:
                s = store.open_commit("d", "c1")
                got_ids, got_d = s.search(queries, k=10, threads=2)
                assert got_ids == want_ids
                np.testing.assert_array_equal(got_d, want_d)
                one_ids, _ = snap.search(queries[rounds % len(queries)], k=10)
                assert one_ids == want_ids[rounds % len(queries)]
                rounds += 1
        except Exception as e:  # handed to the main thread, which fails the test
            errors.append(e)

    def commit():
        try:
            with store.begin_commit("d", "c2", "c1") as c:
                c.insert([f"new-{i}" for i in range(1000)], new_vectors)
                c.remove(ids[:100])
        except Exception as e:
            errors.append(e)
        finally:
            committed.set()

    threads = [threading.Thread(target=search) for _ in range(4)]
    threads.append(threading.Thread(target=commit))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    c2 = store.open_commit("d", "c2")
    assert len(c2) == 1500 + 1000 - 100 and "new-999" in c2 and ids[0] not in c2
    assert store.open_commit("d", "c1").search(queries, k=10)[0] == want_ids


def test_threads_sharing_one_builder(store):
    store.create_domain("d", dim=DIM, metric="l2")
    vectors = np.random.default_rng(9).standard_normal((800, DIM)).astype(np.float32)
    errors = []
    with store.begin_commit("d", "c1") as c:
        def insert(part):
            try:
                for i in range(part, 800, 4):
                    c.insert(f"v{i}", vectors[i])
            except Exception as e:  # handed to the main thread, which fails the test
                errors.append(e)

        threads = [threading.Thread(target=insert, args=(p,)) for p in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == [] and c.info.inserted == 800
    snap = store.open_commit("d", "c1")
    np.testing.assert_array_equal(snap.vector("v799"), vectors[799])
