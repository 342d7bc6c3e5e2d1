#!/usr/bin/python3
"""Times vstore_agg over N rows of a SQLite table, against datasette-faiss's faiss_agg.

Builds a table of N random float32 embeddings (seeded) in a temporary database, then runs
`select vstore_agg(id, embedding, :query, k) from embeddings` and, when Debian's python3-faiss
is installed, the same query through datasette-faiss's FaissAgg (its code, registered with
create_aggregate), and a scan that reads every blob (max(embedding): the floor any aggregate pays).
Reports the best of --repeat runs of each and checks that both aggregates return the same ids.

    /usr/bin/python3 tools/sqlite/bench_agg.py --extension build/tools/sqlite/vstore_sqlite.so
"""

import argparse
import json
import os
import sqlite3
import struct
import tempfile
import time

import numpy as np


class FaissAgg:
    """datasette_faiss.FaissAgg, as datasette-faiss 0.2 defines it."""

    with_scores = False

    def __init__(self):
        self.ids = []
        self.embeddings = []
        self.compare_embedding = None
        self.k = None
        self.first = True

    def step(self, id, embedding, compare_embedding, k):
        if self.first:
            self.first = False
            self.compare_embedding = decode(compare_embedding)
            self.k = k
        self.ids.append(id)
        self.embeddings.append(decode(embedding))

    def finalize(self):
        import faiss

        index = faiss.IndexFlatL2(len(self.compare_embedding))
        index.add(np.array(self.embeddings))
        _, found = index.search(np.array([self.compare_embedding]), self.k)
        return json.dumps([self.ids[i] for i in found[0]])


def decode(blob):
    return struct.unpack("f" * (len(blob) // 4), blob)


def best_of(repeat, run):
    best, answer = None, None
    for _ in range(repeat):
        start = time.perf_counter()
        answer = run()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best, answer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extension", required=True, help="vstore_sqlite.so")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(14)
    vectors = rng.standard_normal((args.rows, args.dim), dtype=np.float32)
    query = rng.standard_normal(args.dim, dtype=np.float32).tobytes()
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(os.path.join(tmp, "bench.db"))
        conn.execute("create table embeddings (id integer primary key, embedding blob)")
        conn.executemany("insert into embeddings values (?, ?)",
                         ((i, vectors[i].tobytes()) for i in range(args.rows)))
        conn.commit()
        conn.enable_load_extension(True)
        conn.load_extension(args.extension)

        def query_one(sql):
            return conn.execute(sql, {"q": query, "k": args.k}).fetchone()[0]

        print(f"{args.rows} rows of {args.dim} float32, k = {args.k}, best of {args.repeat}; "
              f"SQLite {sqlite3.sqlite_version}")
        scan, _ = best_of(args.repeat, lambda: query_one(
            "select max(embedding) is not null from embeddings"))
        print(f"  max(embedding), every blob read: {scan * 1000:8.1f} ms")
        agg, ids = best_of(args.repeat, lambda: query_one(
            "select vstore_agg(id, embedding, :q, :k) from embeddings"))
        print(f"  vstore_agg:              {agg * 1000:8.1f} ms")
        try:
            import faiss  # noqa: F401
        except ImportError:
            print("  faiss_agg:               not measured (python3-faiss is not installed)")
            return
        conn.create_aggregate("faiss_agg", 4, FaissAgg)
        peer, peer_ids = best_of(args.repeat, lambda: query_one(
            "select faiss_agg(id, embedding, :q, :k) from embeddings"))
        print(f"  faiss_agg (datasette-faiss): {peer * 1000:8.1f} ms "
              f"({peer / agg:.1f}x vstore_agg's time)")
        same = json.loads(ids) == json.loads(peer_ids)
        print(f"  same ids: {'yes' if same else 'NO: ' + ids + ' against ' + peer_ids}")


if __name__ == "__main__":
    main()
