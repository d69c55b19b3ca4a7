"""Features: the columns users bring, as SciPy CSR (hashed or exactly indexed).

A :class:`FeatureSpec` turns columns (a dict of arrays, a pandas or polars DataFrame, a pyarrow
Table / RecordBatch) into a canonical ``scipy.sparse.csr_matrix``: per row one entry per feature
(per token combination for token lists), of value 1 or the feature's numeric value.

- :class:`Bucketize` maps a numeric column to buckets: uniform ``[start, stop]`` in equal widths
  (``wrap=True`` for a periodic column such as longitude) or explicit ``boundaries``.
- :class:`Categorical` maps strings or integers to ids: a vocabulary (given, or learned by
  :meth:`FeatureSpec.fit`), a hash modulo ``n_buckets``, or (hashed specs) the 64-bit value hash.
- :class:`Numeric` passes a real value through (optionally standardized by ``fit``).
- :class:`Tokens` maps each token of a list column (or of delimited text) to an id.
- :class:`Cross` crosses two or more of those: one id per combination of their ids, a numeric
  component multiplying the value; ``Cross.pairs`` and ``FeatureSpec(interactions=...)`` write
  the crosses between groups of features.
- ``FeatureSpec(features, bits=None)`` indexes exactly: feature ``f`` owns the column range
  ``[offsets[f], offsets[f] + size_f)`` and a cross's ids are laid out row-major (first component
  most significant), so every column is invertible by arithmetic (:meth:`FeatureSpec.decode`).
  ``FeatureSpec(features, bits=b)`` hashes every feature into one space of ``2**b`` columns;
  the columns are then invertible only through the keys seen in data
  (:meth:`FeatureSpec.record`, :class:`KeyRecord`).

The spec is a scikit-learn transformer (``fit``, ``transform``, ``fit_transform``,
``get_feature_names_out``): it goes in a ``Pipeline`` or ``ColumnTransformer``.

>>> import numpy as np
>>> spec = geo_spec(bits=None)
>>> X = spec.transform({"lat": np.array([48.8566]), "lon": np.array([2.3522])})
>>> X.shape, X.nnz
((1, 235710000), 5)
>>> spec.inverse(int(X.indices[2]))
["lat x lon 1': lat [48.85, 48.86666667) x lon [2.35, 2.366666667)"]
"""

from __future__ import annotations

from ._serialize import FORMAT, FORMAT_VERSION, largest_vocabularies
from ._serialize import schema as spec_schema
from .bucketize import Bucketize
from .categorical import Categorical
from .cross import Cross
from .flags import spec_from_flags
from .geo import geo_spec
from .keyrecord import KeyRecord
from .numeric import Numeric
from .spec import MAX_BITS, FeatureSpec
from .tokens import Tokens
from ._columns import _value_keys as value_keys  # the categorical value hash

__all__ = ["FORMAT", "FORMAT_VERSION", "MAX_BITS", "Bucketize", "Categorical", "Cross", "FeatureSpec", "KeyRecord",
           "Numeric", "Tokens", "geo_spec", "largest_vocabularies", "spec_from_flags", "spec_schema", "value_keys"]
