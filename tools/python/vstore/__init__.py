"""vstore: a versioned, embedded vector store, numpy in and out.

A Store holds domains (vector spaces); each commit of a domain is an HNSW graph built from its
parent by a batch of operations, and every commit stays searchable::

    import numpy as np, vstore
    store = vstore.Store.create("embeddings")
    store.create_domain("docs", dim=3, metric="l2")
    with store.begin_commit("docs", "c1") as c:
        c.insert(["a", "b"], np.array([[0, 0, 1], [0, 1, 0]], dtype=np.float32))
    ids, distances = store.open_commit("docs", "c1").search([0, 0, 1], k=1)
"""

from ._vstore import (
    CommitBuilder,
    CommitInfo,
    Conflict,
    Corruption,
    DomainInfo,
    Error,
    Exhausted,
    InvalidArgument,
    IOError,
    NotFound,
    Pack,
    SearchFilter,
    Snapshot,
    Store,
    search_many,
)

__all__ = [
    "CommitBuilder",
    "CommitInfo",
    "Conflict",
    "Corruption",
    "DomainInfo",
    "Error",
    "Exhausted",
    "InvalidArgument",
    "IOError",
    "NotFound",
    "Pack",
    "SearchFilter",
    "Snapshot",
    "Store",
    "search_many",
]

# Shown as vstore.Store rather than vstore._vstore.Store in help() and reprs.
for _name in __all__:
    if isinstance(globals()[_name], type):
        globals()[_name].__module__ = __name__
del _name
