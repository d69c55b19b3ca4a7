"""What FeatureSpec.fit learns: vocabularies, numeric scales, and the hashed collisions it warns of.

Statistics are gathered chunk by chunk (counts of distinct values, sums of values), so a data
set larger than memory can be fitted with ``fit_chunks``; the learned features then replace the
definition's features everywhere they occur (crosses keep their names).
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from .. import _hashing as hk
from .._validation import as_float64, get_columns
from ._columns import text_column
from ._vocab import colliding_groups, learn_vocabulary
from .categorical import ValueLookup
from .cross import Cross, Feature
from .numeric import Numeric
from .tokens import Tokens

if TYPE_CHECKING:
    from .spec import FeatureSpec


class _Stats:
    """Running statistics of one component over the chunks: value counts, or the count, mean
    and sum of squared deviations of a numeric column (merged chunk by chunk, Chan et al.)."""

    def __init__(self, component: Any) -> None:
        self.component = component
        self.counts: dict[Any, int] = {}
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def update(self, values: Any, row0: int, chunk: int | None) -> None:
        c = self.component
        if not isinstance(c, Numeric):
            text = c.token_list(values).tokens if isinstance(c, Tokens) else text_column(values, c.column)
            uniques, counts = text.distinct()
            for value, count in zip(uniques, counts.tolist()):
                self.counts[value] = self.counts.get(value, 0) + count
            return
        x = as_float64(values, c.column)
        bad = ~np.isfinite(x) if c.missing == "error" else np.isinf(x)
        if bad.any():
            probe = Numeric(c.column, missing=c.missing, name=c.name)  # the transform's own message
            raise probe._reject_error(x, int(np.flatnonzero(bad)[0]), row0, chunk)
        x = x[np.isfinite(x)]
        if x.size == 0:
            return
        mean = float(x.mean())
        m2 = float(((x - mean) ** 2).sum())
        n = self.n + x.size
        delta = mean - self.mean
        self.mean += delta * x.size / n
        self.m2 += m2 + delta * delta * self.n * x.size / n
        self.n = n

    def learned(self) -> Any:
        c = self.component
        if isinstance(c, Numeric):
            if self.n == 0:
                raise ValueError(f"column {c.column!r}: no finite value to learn the scale of Numeric {c.name!r} from")
            return c.learned(self.mean, math.sqrt(self.m2 / self.n))
        min_count = c.min_count or 1
        vocabulary = learn_vocabulary(self.counts, min_count, c.max_size)
        if not vocabulary:
            raise ValueError(
                f"column {c.column!r}: no value is seen min_count={min_count} times ({len(self.counts)} distinct "
                f"values), so {type(c).__name__} {c.name!r} has no vocabulary to learn; lower min_count"
            )
        return c.learned(vocabulary)


def fit_features(spec: FeatureSpec, chunks: Iterable[Any]) -> tuple[Feature, ...]:
    """The spec's definition with every learnable component learned from ``chunks``; warns of
    observed collisions of hashed categoricals."""
    components = list(dict.fromkeys(c for f in spec._definition for c in f.components))
    watched = [c for c in components if isinstance(c, ValueLookup) or (isinstance(c, Numeric) and c.learnable)]
    stats = {c: _Stats(c) for c in watched}
    needed = list(dict.fromkeys(c.column for c in watched))
    row0 = 0
    for index, chunk in enumerate(chunks):
        columns, n_rows = get_columns(chunk, needed)
        for c, s in stats.items():
            s.update(columns[c.column], row0, index if index else None)
        row0 += n_rows
    replaced = {c: s.learned() for c, s in stats.items() if c.learnable}
    fitted = tuple(_replace(f, replaced) for f in spec._definition)
    _warn_collisions(spec, fitted, stats, replaced)
    return fitted


def _replace(feature: Feature, replaced: dict[Any, Any]) -> Feature:
    if isinstance(feature, Cross):
        if not any(c in replaced for c in feature.components):
            return feature
        return Cross(*(replaced.get(c, c) for c in feature.components), name=feature.name)
    return replaced.get(feature, feature)


def _warn_collisions(spec: FeatureSpec, fitted: tuple[Feature, ...], stats: dict[Any, _Stats], replaced: dict) -> None:
    """One warning per categorical whose observed values share a bucket (``n_buckets``) or, in a
    hashed spec, a column of the matrix."""
    for f, feature in enumerate(fitted):
        if isinstance(feature, Cross) or not isinstance(feature, ValueLookup):
            continue
        original = spec._definition[f]
        values = list(stats[original].counts) if original in stats else []
        if len(values) < 2:
            continue
        if feature.n_buckets is not None:
            groups = colliding_groups(values, feature.value_ids(values))
            where = f"share buckets of n_buckets={feature.n_buckets}"
            hint = "give vocabulary=[...], or drop n_buckets so that fit learns a vocabulary"
        elif spec.bits is not None:
            ids = feature.value_ids(values)
            keep = ids >= 0
            values = [v for v, k in zip(values, keep) if k]
            columns = np.empty(int(keep.sum()), dtype=np.int64)
            hk.hash_keys(ids[keep].reshape(-1, 1), np.uint64(hk.feature_base(feature.name, spec.seed)), 64 - spec.bits, columns)
            groups = colliding_groups(values, columns)
            where = f"share columns of the 2**{spec.bits} hashed ones"
            hint = "raise bits, or use an exact spec (bits=None)"
        else:
            continue
        if groups:
            shown = "; ".join(_listing(g) for g in groups[:3])
            n_values = sum(len(g) for g in groups)
            warnings.warn(
                f"{type(feature).__name__} {feature.name!r}: {n_values} of {len(stats[original].counts)} observed values "
                f"{where} with another ({len(groups)} group{'s' if len(groups) > 1 else ''}): {shown}"
                f"{'; ...' if len(groups) > 3 else ''}. Their weights are one weight: {hint}",
                UserWarning,
                stacklevel=4,
            )


def _listing(values: list[Any]) -> str:
    """``'a', 'b' and 'c'`` (at most four, then how many more)."""
    shown = [repr(v) for v in values[:4]]
    text = ", ".join(shown[:-1]) + f" and {shown[-1]}"
    return text + (f" (+{len(values) - 4} more)" if len(values) > 4 else "")
