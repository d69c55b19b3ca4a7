"""A FeatureSpec from the command line's feature options (or from a ``--spec`` JSON file).

The ``widecross`` command only parses its flags and calls :func:`spec_from_flags`; every rule
lives here: what each flag builds, their defaults, and which combinations are refused.

>>> spec = spec_from_flags(resolutions=(60,), bits="20", categorical=["kind"], numeric=["area:standard"],
...                        cross=["geo,kind"])
>>> [f.name for f in spec.features]
["lat x lon 60'", "lat 60'", "lon 60'", 'area', 'kind', "lat x lon 60' x kind", "lat 60' x kind", "lon 60' x kind"]
"""

from __future__ import annotations

from typing import Any, Sequence

from .categorical import Categorical
from .geo import geo_spec
from .numeric import Numeric
from .spec import FeatureSpec
from .tokens import Tokens

class ConflictingOptions(ValueError):
    """Options that cannot go together (a usage error on the command line)."""


# Flags that describe features: a --spec file describes them all, so none may come with it.
SPEC_FLAGS = ("lat", "lon", "resolutions", "bits", "hash_seed", "out_of_range", "numeric", "categorical", "tokens", "cross")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def parse_bits(value: Any) -> int | None:
    """``None``/``"exact"``/``"none"`` -> exact indexing, else an integer number of bits."""
    if value is None or isinstance(value, str) and value.lower() in ("exact", "none"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"--bits takes an integer or 'exact', got {value!r}") from None


def _split(text: str, flag: str) -> tuple[str, str | None]:
    column, sep, option = text.partition(":")
    if not column:
        raise ValueError(f"{flag} takes COLUMN[:OPTION], got {text!r}")
    return column, (option if sep else None)


def numeric_feature(text: str) -> Numeric:
    """``COL`` (the value), ``COL:standard`` (standardized by fit) or ``COL:SCALE`` (divided by SCALE)."""
    column, option = _split(text, "--numeric")
    if option is None or option == "standard":
        return Numeric(column, option)
    try:
        return Numeric(column, float(option))
    except ValueError:
        raise ValueError(f"--numeric takes COL, COL:standard or COL:SCALE, got {text!r}") from None


def categorical_feature(text: str) -> Categorical:
    """``COL`` or ``COL:MIN_COUNT``: a vocabulary learned by fit (values seen MIN_COUNT times, default 1)."""
    column, option = _split(text, "--categorical")
    try:
        return Categorical(column, min_count=1 if option is None else int(option))
    except ValueError as error:
        raise ValueError(f"--categorical takes COL or COL:MIN_COUNT, got {text!r} ({error})") from None


def tokens_feature(text: str) -> Tokens:
    """``COL`` (a list column) or ``COL:SEP`` (text split on SEP), with a vocabulary learned by fit."""
    column, sep = _split(text, "--tokens")
    return Tokens(column, sep=sep or None, min_count=1, unknown="bucket")


def spec_from_flags(spec_json: str | None = None, *, lat: str | None = None, lon: str | None = None,
                    resolutions: Sequence[float] | None = None, bits: Any = None, hash_seed: int | None = None,
                    out_of_range: str | None = None, numeric: Sequence[str] | None = None,
                    categorical: Sequence[str] | None = None, tokens: Sequence[str] | None = None,
                    cross: Sequence[str] | None = None) -> FeatureSpec:
    """The spec the command line's options describe; ``ValueError`` for conflicting options.

    ``spec_json`` (the text of a ``--spec`` file) describes every feature, so no other option
    may be given with it. Otherwise: the lat/lon crosses at ``resolutions`` (arc-minutes,
    default 60, 10, 1; empty for none) as the group ``geo``, then one feature per ``numeric``,
    ``categorical`` and ``tokens`` flag (see :func:`numeric_feature` and its siblings), then
    the crosses of every ``cross`` flag ``"A,B[,C]"`` between groups or features (``geo``, a
    feature's name: a column's name for the flags above), hashed into ``2**bits`` columns or
    exact (``bits`` None or ``"exact"``, the default).
    """
    given = {name: value for name, value in dict(lat=lat, lon=lon, resolutions=resolutions, bits=bits,
                                                 hash_seed=hash_seed, out_of_range=out_of_range, numeric=numeric,
                                                 categorical=categorical, tokens=tokens, cross=cross).items()
             if value is not None}
    if spec_json is not None:
        if given:
            raise ConflictingOptions(f"--spec describes every feature, so it cannot be combined with "
                             f"{', '.join(_flag(name) for name in given)}; put those in the spec file instead")
        return FeatureSpec.from_json(spec_json)
    groups: dict[str, list[Any]] = {}
    resolutions = (60, 10, 1) if resolutions is None else tuple(resolutions)
    if resolutions:
        geo = geo_spec(lat=lat or "lat", lon=lon or "lon", resolutions=resolutions, out_of_range=out_of_range or "error")
        groups["geo"] = list(geo.features)
    elif lat is not None or lon is not None or out_of_range is not None:
        raise ConflictingOptions("--lat, --lon and --out-of-range shape the lat/lon crosses, which --resolutions none leaves out")
    for texts, make in ((numeric, numeric_feature), (categorical, categorical_feature), (tokens, tokens_feature)):
        for text in texts or ():
            feature = make(text)
            groups[feature.name] = [feature]
    if not groups:
        raise ValueError("no features: give --resolutions, --numeric, --categorical or --tokens (or --spec)")
    interactions = []
    for text in cross or ():
        names = [part.strip() for part in text.split(",")]
        if len(names) < 2 or not all(names):
            raise ValueError(f"--cross takes two or more comma-separated groups or features, e.g. geo,kind; got {text!r}")
        interactions.append(tuple(names))
    try:
        return FeatureSpec(groups, bits=parse_bits(bits), seed=0 if hash_seed is None else hash_seed,
                           interactions=interactions)
    except KeyError as error:
        raise ValueError(f"--cross: {error.args[0]}") from None
