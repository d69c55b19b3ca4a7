"""FeatureSpec <-> JSON, checked against ``spec.schema.json`` with clear errors.

The JSON lists the features as the featurizer reads them (interactions written out as crosses,
learned vocabularies and scales included), so a saved model needs nothing else.

- Format version 1: what the first release wrote and reads: ``bucketize``, ``categorical`` and
  crosses of them, each cross repeating its components in full. A spec that uses nothing else
  is still written so, byte for byte.
- Format version 2: anything later: ``numeric`` and ``tokens``, vocabularies learned by
  ``fit`` (``min_count`` / ``max_size``), and crosses that name a component defined among the
  spec's features (``{"type": "ref", "name": ...}``) instead of repeating it: a learned
  vocabulary crossed with ten others is stored once, not eleven times. A reader of version 1
  only refuses such a spec by its version number.

Both versions are read, with or without references.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from ._schema import check
from .bucketize import Bucketize
from .categorical import Categorical, ValueLookup
from .cross import Cross
from .numeric import Numeric
from .tokens import Tokens

if TYPE_CHECKING:
    from .spec import FeatureSpec

FORMAT = "widecross.FeatureSpec"
FORMAT_VERSION = 2  # the newest this module writes; version 1 is written where it suffices
FIRST_RELEASE_VERSION = 1
_KINDS = {"bucketize": Bucketize, "categorical": Categorical, "numeric": Numeric, "tokens": Tokens}


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON schema of a spec (``widecross/features/spec.schema.json``)."""
    return json.loads(resources.files(__package__).joinpath("spec.schema.json").read_text(encoding="utf-8"))


def spec_to_json(spec: FeatureSpec) -> str:
    features = spec.features
    version = FORMAT_VERSION if any(_after_first_release(f) for f in features) else FIRST_RELEASE_VERSION
    defined = {f.name: f for f in features if not isinstance(f, Cross)} if version > FIRST_RELEASE_VERSION else {}
    obj = {
        "format": FORMAT,
        "version": version,
        "bits": spec.bits,
        "seed": spec.seed,
        "features": [_feature_json(f, defined) for f in features],
    }
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def largest_vocabularies(spec: FeatureSpec, n: int = 3) -> list[tuple[str, int, int]]:
    """``(name, values, bytes of JSON)`` of the ``n`` largest vocabularies ``spec`` stores: what
    to shrink (or hash) when a spec is too large for a model file's metadata."""
    sizes = [(f.name, len(f.vocabulary), len(json.dumps(list(f.vocabulary), separators=(",", ":"))))
             for f in spec.features if isinstance(f, ValueLookup) and f.vocabulary is not None]
    return sorted(sizes, key=lambda size: -size[2])[:n]


def _after_first_release(feature: Any) -> bool:
    """True when ``feature`` needs a reader newer than the first release's (format version 2)."""
    if isinstance(feature, Cross):
        return any(_after_first_release(c) for c in feature.components)
    if isinstance(feature, (Numeric, Tokens)):
        return True
    return isinstance(feature, Categorical) and (feature.min_count is not None or feature.max_size is not None)


def _feature_json(feature: Any, defined: dict[str, Any]) -> dict[str, Any]:
    """A feature's JSON; a cross names each component that ``defined`` holds (the same
    definition, under its name) instead of repeating it."""
    if not isinstance(feature, Cross):
        return feature._to_json()
    components = [{"type": "ref", "name": c.name} if defined.get(c.name) == c else c._to_json() for c in feature.components]
    return {"type": "cross", "name": feature.name, "features": components}


def spec_from_json(text: str | bytes, cls: type) -> FeatureSpec:
    """A spec from JSON; ``ValueError`` naming the first wrong field (path and expectation)."""
    try:
        obj = json.loads(text)
    except (TypeError, ValueError) as error:
        raise ValueError(f"feature spec is not valid JSON: {error}") from error
    _check_unique_keys(text.decode(json.detect_encoding(text), "surrogatepass") if isinstance(text, (bytes, bytearray)) else text, obj)
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ValueError(f"not a widecross feature spec (format field {obj.get('format') if isinstance(obj, dict) else None!r})")
    version = obj.get("version")
    # Python's == finds true and 1.0 equal to 1; a version is written as an integer.
    if isinstance(version, bool) or not isinstance(version, int) or version not in (FIRST_RELEASE_VERSION, FORMAT_VERSION):
        raise ValueError(f"feature spec format version {version!r} is not supported "
                         f"(this widecross reads versions {FIRST_RELEASE_VERSION} and {FORMAT_VERSION}, integers)")
    try:
        check(obj, schema())
    except ValueError as error:
        raise ValueError(f"malformed feature spec: {error}") from None
    features = _features_from_json(obj["features"])
    try:
        return cls(features, bits=obj.get("bits"), seed=obj.get("seed", 0), interactions=obj.get("interactions"))
    except (KeyError, TypeError, ValueError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
        raise ValueError(f"malformed feature spec: {message}") from None


# In valid JSON a string followed by a colon is a key. Matched from the first opening quote on,
# each string is consumed whole, so no quote or brace inside one is taken for structure.
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_COLONS = re.compile(_STRING + r"(\s*:)?")  # per string: its colon (a key) or ""
_TOKEN = re.compile(f"({_STRING})(\\s*:)?|[{{}}]")


def _check_unique_keys(text: str, obj: Any) -> None:
    """Refuse a key given twice in one object of (valid JSON) ``text``, which ``json`` parsed into
    ``obj`` keeping the last one silently. The keys written outnumber those parsed exactly when
    one repeats; only then is the text walked, object by object, to name it."""
    colons = _COLONS.findall(text)
    if len(colons) - colons.count("") == _count_keys(obj):
        return
    objects: list[set[str]] = []
    for match in _TOKEN.finditer(text):
        if match.group(0) == "{":
            objects.append(set())
        elif match.group(0) == "}":
            objects.pop()
        elif match.group(2):
            key = json.loads(match.group(1))
            if key in objects[-1]:
                raise ValueError(f"malformed feature spec: the field {key!r} is given twice in one object")
            objects[-1].add(key)


def _count_keys(obj: Any) -> int:
    count, stack = 0, [obj]
    while stack:  # no recursion: nesting depth is the input's choice
        node = stack.pop()
        if isinstance(node, dict):
            count += len(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return count


def _features_from_json(objs: list[dict[str, Any]]) -> list[Any]:
    """The features of a (schema-checked) spec, in order: single-column ones first, so that a
    cross may name any of them, wherever it stands."""
    features: list[Any] = [None] * len(objs)
    defined: dict[str, Any] = {}
    for pass_crosses in (False, True):
        for i, obj in enumerate(objs):
            if (obj["type"] == "cross") != pass_crosses:
                continue
            try:
                features[i] = feature_from_json(obj, defined)
            except (TypeError, ValueError) as error:
                raise ValueError(f"malformed feature spec: features[{i}] ({obj.get('type')}): {error}") from None
            defined.setdefault(features[i].name, features[i])
    return features


def feature_from_json(obj: dict[str, Any], defined: dict[str, Any] | None = None) -> Any:
    """One feature from its (schema-checked) JSON object; optional fields take their defaults.
    A cross's ``{"type": "ref", "name": ...}`` component is the feature of that name in ``defined``."""
    if obj["type"] == "ref":
        found = (defined or {}).get(obj["name"])
        if found is None or isinstance(found, Cross):
            known = sorted(n for n, f in (defined or {}).items() if not isinstance(f, Cross))
            raise ValueError(f"a cross names the feature {obj['name']!r}, which is no single-column feature of "
                             f"this spec; known: {known}")
        return found
    if obj["type"] == "cross":
        return Cross(*(feature_from_json(f, defined) for f in obj["features"]), name=obj.get("name"))
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
