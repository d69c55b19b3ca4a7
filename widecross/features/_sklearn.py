"""The scikit-learn transformer protocol of FeatureSpec, without importing scikit-learn.

``get_params``/``set_params`` return and take the constructor's arguments as given (``fit``
never changes them: what it learns lives in the fitted features), so ``clone`` gives an
unfitted copy; ``fit_transform``; ``get_feature_names_out`` for exact specs of moderate width;
``set_output`` accepts only the default (the output is a sparse matrix, which pandas and polars
containers cannot hold). Tags are built only when scikit-learn asks for them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Exact specs up to this width name their columns; wider ones (and hashed ones) refuse.
MAX_NAMED_COLUMNS = 1_000_000


class TransformerMixin:
    """``fit``/``transform`` live in :class:`FeatureSpec`; this is the rest of the protocol."""

    _params: dict[str, Any]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor arguments by name, as given (``fit`` leaves them untouched)."""
        return dict(self._params)

    def set_params(self, **params: Any) -> Any:
        """Set constructor arguments (unknown names are an error); the spec is unfitted again."""
        unknown = sorted(set(params) - set(self._params))
        if unknown:
            raise ValueError(f"invalid parameter(s) {unknown} for FeatureSpec; valid: {sorted(self._params)}")
        self.__init__(**{**self._params, **params})  # type: ignore[misc]
        return self

    def fit_transform(self, data: Any, y: Any = None, **fit_params: Any) -> Any:
        """``fit(data).transform(data)``."""
        return self.fit(data, y).transform(data)  # type: ignore[attr-defined]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """One readable name per output column (exact specs up to a million columns).

        Hashed columns have no names of their own (several keys share one): use
        ``spec.record(data)`` and ``spec.inverse(column, keys)`` instead.

        >>> FeatureSpec([Categorical("kind", vocabulary=["flat", "villa"])]).get_feature_names_out().tolist()
        ["kind{2 values #...}: kind = 'flat'", "kind{2 values #...}: kind = 'villa'"]
        """
        if self.bits is not None:  # type: ignore[attr-defined]
            raise ValueError(
                f"a hashed spec's columns (2**{self.bits}) have no names: several keys can share one; "  # type: ignore[attr-defined]
                "use keys = spec.record(data) and spec.inverse(column, keys)"
            )
        width = self.n_features  # type: ignore[attr-defined]
        if width > MAX_NAMED_COLUMNS:
            raise ValueError(f"this spec has {width:,} columns; names are made for at most {MAX_NAMED_COLUMNS:,}")
        feature, buckets = self.decode(np.arange(width))  # type: ignore[attr-defined]
        arity = [len(f.components) for f in self.features]  # type: ignore[attr-defined]
        names = [self.describe_key(int(f), b[: arity[int(f)]]) for f, b in zip(feature, buckets)]  # type: ignore[attr-defined]
        return np.asarray(names, dtype=object)

    def set_output(self, *, transform: str | None = None) -> Any:
        """Only ``"default"`` (or None): the output is a SciPy sparse matrix."""
        if transform not in (None, "default"):
            raise ValueError(
                f"set_output(transform={transform!r}): a FeatureSpec outputs a sparse matrix, which "
                "pandas and polars containers cannot hold; keep the default"
            )
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return self._plan is not None  # type: ignore[attr-defined]

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags

        tags = Tags(estimator_type=None, target_tags=TargetTags(required=False), transformer_tags=TransformerTags(),
                    input_tags=InputTags(two_d_array=False, dict=True, string=True, categorical=True, allow_nan=True))
        tags.requires_fit = any(getattr(c, "learnable", False) for f in self._definition for c in f.components)  # type: ignore[attr-defined]
        return tags
