"""data_gen: seeded, offline synthetic data for widecross (needs only NumPy and Numba).

- ``generate_housing``: a realistic global housing data set (houses around real populated places,
  kept on land, prices with location effects at several scales), chunk-invariant by construction.
- ``write_parquet`` / ``write_csv``: the same stream written in bounded memory, atomically.
- ``generate_sparse``: sparse CSR features with a known sparse true weight vector (needs SciPy).

>>> from data_gen import generate_housing
>>> rows = generate_housing(1000, seed=0)
>>> rows["lat"].shape, rows["property_type"][:1].dtype.kind
((1000,), 'U')
"""

from __future__ import annotations

from typing import Any

from ._housing_kernel import PROPERTY_TYPES
from .housing import COLUMNS, generate_housing, label_threshold
from .io import write_csv, write_parquet

__all__ = [
    "COLUMNS",
    "PROPERTY_TYPES",
    "generate_housing",
    "generate_sparse",
    "label_threshold",
    "write_csv",
    "write_parquet",
]


def __getattr__(name: str) -> Any:
    # generate_sparse pulls in scipy.sparse; import it on first use only.
    if name == "generate_sparse":
        from .sparse import generate_sparse

        globals()[name] = generate_sparse
        return generate_sparse
    raise AttributeError(f"module 'data_gen' has no attribute {name!r}")
