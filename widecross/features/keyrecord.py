"""Recording the keys (feature, bucket ids) seen in data, to invert hashed columns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import get_columns
from .categorical import ValueLookup

if TYPE_CHECKING:
    from ._plan import Inputs
    from .spec import FeatureSpec


class KeyRecord:
    """The distinct keys (feature, bucket ids) seen in data and the column each maps to.

    Built by :meth:`FeatureSpec.record`; grows with :meth:`update` or
    ``spec.transform(chunk, record=keys)``. Memory grows with the distinct keys, not the rows.
    For categorical components it also keeps the raw values seen per id, for readable output.

    Properties ``columns`` (sorted int64), ``feature`` (int64) and ``buckets``
    (int64, ``(n_keys, max_arity)``, -1 padded) are parallel arrays.
    """

    def __init__(self, spec: FeatureSpec) -> None:
        self.spec = spec
        # Per feature: sorted distinct keys, packed into one int64 (mixed radix) when the
        # feature's ids are bounded, else (m, arity) rows of bucket ids.
        self._keys: list[np.ndarray] = [
            np.empty(0, dtype=np.int64) if spec._packable[f] else np.empty((0, f_arity), dtype=np.int64)
            for f, f_arity in enumerate(f.arity for f in spec.features)
        ]
        self._values: dict[int, dict[int, set[Any]]] = {}
        self._table: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return int(sum(k.shape[0] for k in self._keys))

    @property
    def columns(self) -> np.ndarray:
        return self._materialize()[0]

    @property
    def feature(self) -> np.ndarray:
        return self._materialize()[1]

    @property
    def buckets(self) -> np.ndarray:
        return self._materialize()[2]

    def update(self, data: Any) -> KeyRecord:
        """Add the keys of ``data`` (a table with the spec's columns); returns ``self``."""
        plan = self.spec._fitted_plan()
        columns, n_rows = get_columns(data, self.spec.columns)
        self._add(plan.inputs(columns, n_rows, 0, None, keep=True), 0, None)
        return self

    def _add(self, inputs: Inputs, row0: int, chunk: int | None) -> None:
        spec = self.spec
        plan = spec._fitted_plan()
        key_feat, key_ids = plan.keys(inputs, row0, chunk)
        order = np.argsort(key_feat, kind="stable")
        bounds = np.searchsorted(key_feat[order], np.arange(len(spec.features) + 1))
        for f in range(len(spec.features)):
            lo, hi = plan.feat_slots[f], plan.feat_slots[f + 1]
            ids = key_ids[order[bounds[f]:bounds[f + 1]], : hi - lo]
            if spec._packable[f]:
                code = np.zeros(ids.shape[0], dtype=np.int64)
                for j, radix in enumerate(plan.slot_radix[lo:hi]):
                    code = code * radix + ids[:, j]
                self._keys[f] = np.union1d(self._keys[f], code)
            else:
                self._keys[f] = np.unique(np.concatenate([self._keys[f], ids]), axis=0)
        self._table = None
        sources = [*zip(plan.categorical, inputs.texts), *zip(plan.token_components, (t.tokens for t in inputs.tokens))]
        for c, text in sources:
            seen = self._values.setdefault(plan.components.index(c), {})
            uniques, _ = text.distinct()
            for value, i in zip(uniques, c.value_ids(uniques).tolist()):
                if c.vocabulary is None or i >= 0:  # -1: outside the vocabulary
                    seen.setdefault(i, set()).add(value)

    def _materialize(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._table is None:
            spec = self.spec
            plan = spec._fitted_plan()
            cols, feats, blocks = [], [], []
            for f, keys in enumerate(self._keys):
                lo, hi = plan.feat_slots[f], plan.feat_slots[f + 1]
                if spec._packable[f]:
                    tuples = np.empty((keys.size, hi - lo), dtype=np.int64)
                    rest = keys
                    for j in range(hi - lo - 1, -1, -1):
                        radix = plan.slot_radix[lo + j]
                        tuples[:, j] = rest % radix
                        rest = rest // radix
                else:
                    tuples = keys
                block = np.full((tuples.shape[0], plan.max_arity), -1, dtype=np.int64)
                block[:, : hi - lo] = tuples
                cols.append(spec._feature_columns(f, tuples))
                feats.append(np.full(tuples.shape[0], f, dtype=np.int64))
                blocks.append(block)
            columns, feature, buckets = np.concatenate(cols), np.concatenate(feats), np.concatenate(blocks)
            order = np.lexsort((feature, columns))
            self._table = (columns[order], feature[order], buckets[order])
        return self._table

    def _seen(self, component: Any, bucket_id: int) -> set[Any] | None:
        if not isinstance(component, ValueLookup):
            return None
        return self._values.get(self.spec._fitted_plan().components.index(component), {}).get(bucket_id)

    def decode(self, columns: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(position, feature_idx, bucket_ids)`` of every recorded key in the given columns.

        ``position[i]`` indexes ``columns``; a column with several keys (a hash collision)
        appears several times, a column with none not at all.

        >>> from widecross.features import geo_spec
        >>> spec = geo_spec(resolutions=(60,), bits=20)
        >>> keys = spec.record({"lat": [0.5, 0.5], "lon": [0.5, 1.5]})
        >>> X = spec.transform({"lat": [0.5], "lon": [1.5]})
        >>> position, feature, buckets = keys.decode(X.indices)
        >>> sorted(zip(feature.tolist(), buckets.tolist()))
        [(0, [90, 181]), (1, [90, -1]), (2, [181, -1])]
        """
        table_columns, table_feature, table_buckets = self._materialize()
        query = np.atleast_1d(np.asarray(columns)).astype(np.int64, copy=False)
        lo = np.searchsorted(table_columns, query, side="left")
        hi = np.searchsorted(table_columns, query, side="right")
        counts = hi - lo
        position = np.repeat(np.arange(query.size), counts)
        starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
        index = np.arange(position.size) + starts
        return position, table_feature[index], table_buckets[index]
