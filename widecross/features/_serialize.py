"""FeatureSpec <-> JSON (format version 1), checked against ``spec.schema.json`` with clear errors.

The JSON lists the features as the featurizer reads them (interactions written out as crosses,
learned vocabularies and scales included), so a saved model needs nothing else. Specs that use
only the kinds of the first release (bucketize, categorical, cross of those) are written exactly
as that release wrote them; ``numeric`` and ``tokens`` are later kinds, which a reader that
predates them refuses ("not a feature description").
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from ._schema import check
from .bucketize import Bucketize
from .categorical import Categorical
from .cross import Cross
from .numeric import Numeric
from .tokens import Tokens

if TYPE_CHECKING:
    from .spec import FeatureSpec

FORMAT = "widecross.FeatureSpec"
FORMAT_VERSION = 1
_KINDS = {"bucketize": Bucketize, "categorical": Categorical, "numeric": Numeric, "tokens": Tokens}


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON schema of a spec (``widecross/features/spec.schema.json``)."""
    return json.loads(resources.files(__package__).joinpath("spec.schema.json").read_text(encoding="utf-8"))


def spec_to_json(spec: FeatureSpec) -> str:
    obj = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "bits": spec.bits,
        "seed": spec.seed,
        "features": [f._to_json() for f in spec.features],
    }
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def spec_from_json(text: str | bytes, cls: type) -> FeatureSpec:
    """A spec from JSON; ``ValueError`` naming the first wrong field (path and expectation)."""
    try:
        obj = json.loads(text)
    except (TypeError, ValueError) as error:
        raise ValueError(f"feature spec is not valid JSON: {error}") from error
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ValueError(f"not a widecross feature spec (format field {obj.get('format') if isinstance(obj, dict) else None!r})")
    if obj.get("version") != FORMAT_VERSION:
        raise ValueError(f"feature spec format version {obj.get('version')!r} is not supported (this is {FORMAT_VERSION})")
    try:
        check(obj, schema())
    except ValueError as error:
        raise ValueError(f"malformed feature spec: {error}") from None
    features = []
    for i, feature in enumerate(obj["features"]):
        try:
            features.append(feature_from_json(feature))
        except (TypeError, ValueError) as error:
            raise ValueError(f"malformed feature spec: features[{i}] ({feature.get('type')}): {error}") from None
    try:
        return cls(features, bits=obj.get("bits"), seed=obj.get("seed", 0), interactions=obj.get("interactions"))
    except (KeyError, TypeError, ValueError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
        raise ValueError(f"malformed feature spec: {message}") from None


def feature_from_json(obj: dict[str, Any]) -> Any:
    """One feature from its (schema-checked) JSON object; optional fields take their defaults."""
    if obj["type"] == "cross":
        return Cross(*(feature_from_json(f) for f in obj["features"]), name=obj.get("name"))
    if obj["type"] == "bucketize":
        return _bucketize(obj)
    if obj["type"] == "numeric":
        return _numeric(obj)
    options = {k: obj[k] for k in ("vocabulary", "unknown", "name", "min_count", "max_size", "sep") if obj.get(k) is not None}
    return _KINDS[obj["type"]](obj["column"], obj.get("n_buckets"), **options)


def _bucketize(obj: dict[str, Any]) -> Bucketize:
    from ._base import float_from_json

    common = dict(wrap=obj.get("wrap", False), out_of_range=obj.get("out_of_range", "error"), name=obj.get("name"))
    if "boundaries" in obj:
        extra = [k for k in ("start", "stop", "n_buckets", "width") if k in obj]
        if extra:
            raise ValueError(f"give boundaries or start/stop, not both (also found {', '.join(extra)})")
        return Bucketize(obj["column"], boundaries=[float_from_json(e) for e in obj["boundaries"]], **common)
    missing = [k for k in ("start", "stop") if k not in obj]
    if missing or ("n_buckets" in obj) == ("width" in obj):
        raise ValueError("a bucketize needs start, stop and one of n_buckets or width (or boundaries)")
    return Bucketize(obj["column"], obj["start"], obj["stop"], obj.get("width"), n_buckets=obj.get("n_buckets"), **common)


def _numeric(obj: dict[str, Any]) -> Numeric:
    scale = obj.get("scale")
    standardize = bool(obj.get("standardize", scale == "standard"))
    if standardize and scale is None:
        scale = "standard"
    out = Numeric(obj["column"], scale, center=obj.get("center"), missing=obj.get("missing", "error"), name=obj.get("name"))
    out.standardize = standardize
    return out
