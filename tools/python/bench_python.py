#!/usr/bin/python3
"""Throughput of vstore's Python search on Fashion-MNIST, against hnswlib's Python knn_query
and the C++ search of the same store (not a test: it prints figures and ratios).

    PYTHONPATH=build/tools/python /usr/bin/python3 tools/python/bench_python.py \\
        [--base 60000] [--queries 1000] [--ef 20 64] [--cli build/tools/vstore]

Builds a store (domain fmnist, l2, M=16, ef_construction=200) of the first --base training
images and an hnswlib index of the same images with the same parameters, then times, for each
ef, a (queries, 784) batch of test images at k=10:
- snap.search(batch, threads=1) and with one thread per core, against hnswlib's
  knn_query(batch) with num_threads 1 and all cores;
- one query at a time from a Python loop, for both;
- C++: the `vstore search` command line over the same store, one thread, one query at a time.
  Its time per query is a difference, (time of 2 x batch) - (time of the batch), so that
  starting the process, opening the store and the first touch of every vector (checked against
  its checksum once) cancel out; what remains is search plus printing 10 hits as JSON.
Each figure is the median of --rounds runs, the runs compared taking turns so that a busy
machine slows them alike. Recall@10 is against exact search (numpy).
"""

import argparse
import gc
import gzip
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

# Run as a script, this directory comes first on sys.path, and its vstore/ (the package's
# sources, without the built extension) would hide the built or installed package.
HERE = pathlib.Path(__file__).resolve().parent
sys.path = [p for p in sys.path if pathlib.Path(p or ".").resolve() != HERE]
import vstore  # noqa: E402

FASHION = pathlib.Path("/usr/share/datasets/fashion-mnist")


def read_idx_images(path, count):
    """The first `count` images of a gzip IDX file (magic 0x803), as float32 rows of 784."""
    with gzip.open(path, "rb") as f:
        header = np.frombuffer(f.read(16), dtype=">u4")
        if header[0] != 0x803:
            sys.exit(f"{path}: not an IDX image file")
        n, rows, cols = (int(x) for x in header[1:])
        count = min(count, n)
        pixels = np.frombuffer(f.read(count * rows * cols), dtype=np.uint8)
    return pixels.reshape(count, rows * cols).astype(np.float32)


def exact_neighbours(base, queries, k):
    """The true k nearest of each query by squared L2, from one matrix product."""
    norms = (base ** 2).sum(axis=1)
    truth = []
    for chunk in np.array_split(queries, max(1, len(queries) // 100)):
        d = norms[None, :] - 2 * chunk @ base.T
        truth.extend(np.argsort(d, axis=1)[:, :k])
    return np.array(truth)


def recall(found_ids, truth):
    hits = sum(len({int(i) for i in row} & set(t.tolist())) for row, t in zip(found_ids, truth))
    return hits / truth.size


def interleaved_medians(runs, rounds):
    """The median seconds of each of `runs` (name -> callable), their rounds taking turns so
    that a busy machine slows them alike."""
    times = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def cli_search(cli, store_dir, queries_file, k, ef):
    subprocess.run([cli, "search", store_dir, "--domain", "fmnist", "--commit", "c1",
                    "--vector-file", str(queries_file), "-k", str(k), "--ef", str(ef), "--json"],
                   check=True, stdout=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", type=int, default=60000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--ef", type=int, nargs="+", default=[20, 64])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cli", default=str(HERE.parents[1] / "build" / "tools" / "vstore"))
    args = parser.parse_args()

    import hnswlib

    base = read_idx_images(FASHION / "train-images-idx3-ubyte.gz", args.base)
    batch = read_idx_images(FASHION / "t10k-images-idx3-ubyte.gz", args.queries)
    cores = os.cpu_count() or 1
    print(f"Fashion-MNIST: {len(base)} base, {len(batch)} queries, k={args.k}, {cores} cores")
    truth = exact_neighbours(base, batch, args.k)

    work = pathlib.Path(tempfile.mkdtemp(prefix="vstore-bench-python-"))
    try:
        store_dir = str(work / "store")
        store = vstore.Store.create(store_dir)
        store.create_domain("fmnist", dim=784, metric="l2", m=16, ef_construction=200)
        start = time.perf_counter()
        with store.begin_commit("fmnist", "c1") as c:
            c.insert([str(i) for i in range(len(base))], base)
        print(f"vstore commit: {time.perf_counter() - start:.1f} s")
        # Searched as a reader opens it: the store opened again, its commit from the graph file.
        del store, c
        gc.collect()
        snap = vstore.Store.open(store_dir).open_commit("fmnist", "c1")

        index = hnswlib.Index(space="l2", dim=784)
        index.init_index(max_elements=len(base), M=16, ef_construction=200)
        start = time.perf_counter()
        index.add_items(base, np.arange(len(base)), num_threads=cores)
        print(f"hnswlib add_items: {time.perf_counter() - start:.1f} s")

        header = (f"{'ef':>4} {'what':<34} {'vstore q/s':>11} {'hnswlib q/s':>12} "
                  f"{'ratio':>6} {'recall v/h':>12}")
        print(header)
        for ef in args.ef:
            index.set_ef(ef)
            found, _ = snap.search(batch, k=args.k, ef=ef)  # warms the pages and their checks
            labels, _ = index.knn_query(batch, k=args.k)
            rv, rh = recall(found, truth), recall(labels, truth)
            n = len(batch)
            rows = []
            for threads in (1, cores):
                t = interleaved_medians({
                    "v": lambda: snap.search(batch, k=args.k, ef=ef, threads=threads),
                    "h": lambda: index.knn_query(batch, k=args.k, num_threads=threads),
                }, args.rounds)
                rows.append((f"batch, {threads} thread(s)", n / t["v"], n / t["h"]))
            t = interleaved_medians({
                "v": lambda: [snap.search(q, k=args.k, ef=ef) for q in batch],
                "h": lambda: [index.knn_query(q, k=args.k, num_threads=1) for q in batch],
            }, args.rounds)
            rows.append(("one query at a time (Python loop)", n / t["v"], n / t["h"]))
            for what, vq, hq in rows:
                print(f"{ef:>4} {what:<34} {vq:>11,.0f} {hq:>12,.0f} {vq / hq:>6.2f} "
                      f"{rv:>6.3f}/{rh:.3f}")
            if os.access(args.cli, os.X_OK):
                once, twice = work / "once.npy", work / "twice.npy"
                np.save(once, batch)
                np.save(twice, np.concatenate([batch, batch]))
                t = interleaved_medians({
                    "python": lambda: snap.search(batch, k=args.k, ef=ef, threads=1),
                    "once": lambda: cli_search(args.cli, store_dir, once, args.k, ef),
                    "twice": lambda: cli_search(args.cli, store_dir, twice, args.k, ef),
                }, args.rounds)
                cpp, python = n / (t["twice"] - t["once"]), n / t["python"]
                print(f"{ef:>4} C++ (vstore search, 1 thread, one query at a time): {cpp:,.0f} "
                      f"q/s; Python batch on 1 thread {python:,.0f} q/s: {python / cpp:.2f} of "
                      f"C++")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
