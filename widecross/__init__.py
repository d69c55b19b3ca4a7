"""widecross: sparse wide linear models on feature crosses.

Columns (latitude, longitude, categoricals) become bucketized, hashed or exactly indexed feature
crosses (SciPy CSR); a Numba-compiled lazy proximal SGD or FTRL-Proximal trainer fits an L1/L2
penalized linear model at a cost per example set by the active coordinates, never the width; the
model is stored and served as its nonzero weights only.

>>> import widecross as wc
>>> spec = wc.geo_spec(lat="lat", lon="lon", resolutions=(60, 10, 1), bits=24)
>>> clf = wc.WideClassifier(spec, l1=1e-6)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

# Public name -> module that defines it. Resolved on first access so that `import widecross`
# stays cheap (no Numba compilation, no SciPy import) for the CLI's --help and for data_gen.
_PUBLIC = {
    "Bucketize": "features",
    "Categorical": "features",
    "Cross": "features",
    "FeatureSpec": "features",
    "geo_spec": "features",
    "KeyRecord": "features",
    "Numeric": "features",
    "Tokens": "features",
    "WideClassifier": "estimators",
    "WideRegressor": "estimators",
    "SparseModel": "model",
    "load": "export",
    "ModelFormatError": "export",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'widecross' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
