"""A seeded sample of a Dask DataFrame's rows, featurized where the partitions are.

What ``l1="auto"`` needs on a cluster: the in-memory path runs on at most ``max_rows`` rows drawn
uniformly without replacement from all partitions (only the sample comes to the client), and
the total row count scales its choice to the rows of the fit. The draw depends on the partitions'
lengths and the seed only: the same data and seed give the same sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .shard import Featurize

SEED_TAG = 0x5A  # the sample's generator: the fit's seed and this tag


def _length(frame: Any) -> int:
    return len(frame)


def _take(featurize: Featurize, frame: Any, rows: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray] | None:
    # the whole partition is featurized, so a bad value is reported at its row in the partition
    features = featurize(frame)
    if features is None:
        return None
    X, y, sw = features
    return X[rows], y[rows], sw[rows] if sw.size else sw


def sample_rows(client: Any, parts: list[Any], featurize: Featurize, max_rows: int, seed: int
                ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, int]:
    """(X, y, sample weights (empty: none), total rows) of at most ``max_rows`` rows of ``parts``
    (Dask delayed partitions), in the partitions' order."""
    import dask

    lengths = client.gather(client.compute([dask.delayed(_length, pure=True)(p) for p in parts]))
    n_total = int(sum(lengths))
    if n_total == 0:
        raise ValueError("the DataFrame has no rows")
    m = min(max_rows, n_total)
    rng = np.random.default_rng(np.random.SeedSequence([seed, SEED_TAG]))
    picks = np.sort(rng.choice(n_total, m, replace=False)) if m < n_total else np.arange(n_total)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    tasks = []
    for i, part in enumerate(parts):
        lo, hi = np.searchsorted(picks, [starts[i], starts[i + 1]])
        if hi > lo:
            tasks.append(dask.delayed(_take, pure=True)(featurize, part, picks[lo:hi] - starts[i]))
    pieces = [p for p in client.gather(client.compute(tasks)) if p is not None]
    X = sp.vstack([p[0] for p in pieces], format="csr")
    sw = np.concatenate([p[2] for p in pieces])
    return X, np.concatenate([p[1] for p in pieces]), sw if sw.shape[0] == X.shape[0] else np.empty(0), n_total
