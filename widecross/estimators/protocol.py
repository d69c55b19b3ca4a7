"""scikit-learn's estimator conventions, kept without depending on scikit-learn at run time.

Constructors store their arguments untouched (:func:`constructor` builds them from one parameter
table, so the classifier and the regressor share it), ``get_params``/``set_params`` read and
write them, ``__repr__`` shows the changed ones, and the tags tell scikit-learn's checks what the
estimators accept.
"""

from __future__ import annotations

import functools
import inspect
import sys
from typing import Any, Callable

import numpy as np

# name -> default, in the constructors' order (``loss`` is the estimator's own default)
PARAMETERS: dict[str, Any] = dict(
    loss=None, optimizer="sgd", l1="auto", l2=0.0, learning_rate=None, schedule="adagrad", implicit=True,
    power_t=0.5, t0=1e4, alpha=None, beta=1.0, epochs=None, polish=6, shuffle=True, random_state=None,
    early_stopping=False, validation_fraction=0.1, n_iter_no_change=3, tol=None, verbose=0, layout="auto",
    warm_start=False, cv=None, n_jobs=1,
)


# the classifier's own parameters, after the shared ones
CLASSIFIER_PARAMETERS: dict[str, Any] = dict(multi_class="ovr", class_weight=None)


def constructor(loss: str, extra: dict[str, Any] | None = None) -> Callable[..., None]:
    """An ``__init__(self, spec=None, *, loss=loss, ...)`` that stores every parameter as given
    (the shared ones, then ``extra``)."""
    kw = inspect.Parameter.KEYWORD_ONLY
    table = {**PARAMETERS, **(extra or {})}
    signature = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
         inspect.Parameter("spec", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)]
        + [inspect.Parameter(name, kw, default=loss if name == "loss" else default) for name, default in table.items()]
    )

    defaults = {"spec": None, **table, "loss": loss}

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > 1 or args and "spec" in kwargs or not kwargs.keys() <= defaults.keys():
            signature.bind(self, *args, **kwargs)  # raises the TypeError Python would
        values = {**defaults, **dict(zip(("spec",), args)), **kwargs}
        for name in defaults:
            setattr(self, name, values[name])

    __init__.__signature__ = signature  # type: ignore[attr-defined]
    return __init__


class EstimatorNotFittedError(ValueError, AttributeError):
    """The estimator is used before ``fit`` or ``partial_fit``.

    When scikit-learn is loaded, the error raised is also an instance of its ``NotFittedError``,
    so that its helpers and ``except`` clauses written for either recognize it.
    """


NotFittedError = EstimatorNotFittedError  # the name of earlier versions


@functools.lru_cache(maxsize=None)
def _with_sklearn(sklearn_class: type) -> type:
    return type("EstimatorNotFittedError", (EstimatorNotFittedError, sklearn_class), {})


def not_fitted(owner: str) -> EstimatorNotFittedError:
    message = f"This {owner} instance is not fitted yet. Call 'fit' or 'partial_fit' with appropriate arguments first."
    sk = sys.modules.get("sklearn.exceptions")  # never imported by us
    return (_with_sklearn(sk.NotFittedError) if sk is not None else EstimatorNotFittedError)(message)


class AvailableIf:
    """Method descriptor that hides the method (AttributeError) when ``check(self)`` is false."""

    def __init__(self, check: Callable[[Any], bool], reason: str) -> None:
        self.check = check
        self.reason = reason

    def __call__(self, fn: Callable) -> AvailableIf:
        self.fn = fn
        self.__doc__ = fn.__doc__
        return self

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is not None and not self.check(obj):
            raise AttributeError(f"{type(obj).__name__} has no {self.name}: {self.reason}")
        return self.fn if obj is None else self.fn.__get__(obj, owner)


@functools.lru_cache(maxsize=None)
def _param_names(cls: type) -> tuple[str, ...]:
    sig = inspect.signature(cls.__init__)
    return tuple(sorted(p.name for p in sig.parameters.values() if p.name != "self" and p.kind != p.VAR_KEYWORD))


class ParamsMixin:
    """``get_params``, ``set_params``, ``__repr__`` and scikit-learn's tags."""

    _kind = "regressor"

    @classmethod
    def _get_param_names(cls) -> list[str]:
        return list(_param_names(cls))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters by name (as stored, never modified by ``fit``)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> Any:
        """Set constructor parameters; unknown names are an error. Returns self."""
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"invalid parameter {key!r} for {type(self).__name__}; valid: {valid}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = []
        for name in self._get_param_names():
            value = getattr(self, name)
            default = defaults.get(name)
            same = value is default or (
                type(value) is type(default) and not isinstance(value, np.ndarray) and value == default
            )
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags, RegressorTags, Tags, TargetTags

        tags = Tags(
            estimator_type=self._kind,
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags(multi_class=True) if self._kind == "classifier" else None,
            regressor_tags=RegressorTags() if self._kind == "regressor" else None,
        )
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = False
        tags.non_deterministic = getattr(self, "random_state", None) is None
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "_trainer")
