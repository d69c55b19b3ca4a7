"""Cross: one feature per combination of the ids of two or more single-column features."""

from __future__ import annotations

import itertools
from typing import Any, Iterable, Mapping, Sequence, Union

from ._base import SingleColumn, check_name
from .bucketize import Bucketize
from .categorical import Categorical
from .numeric import Numeric
from .tokens import Tokens

Component = Union[Bucketize, Categorical, Numeric, Tokens]


class Cross:
    """The cross of two or more Bucketize / Categorical / Numeric / Tokens features.

    Nested crosses are flattened. The exact id of ids ``(b1, ..., bk)`` is row-major,
    ``(...(b1 * size2 + b2) * size3 + ...) + bk``; the default name joins the components'
    names with ``" x "``. A :class:`Numeric` component has the single id 0 and multiplies the
    entry's value (a per-cell slope); a :class:`Tokens` component gives one entry per token.

    >>> c = Cross(Bucketize("lat", -90, 90, 1), Bucketize("lon", -180, 180, 1, wrap=True))
    >>> c.arity, c.size
    (2, 64800)
    """

    def __init__(self, *features: Component | Cross, name: str | None = None) -> None:
        components: list[Component] = []
        for feature in features:
            if isinstance(feature, Cross):
                components.extend(feature.components)
            elif isinstance(feature, SingleColumn):
                components.append(feature)
            else:
                raise TypeError(f"Cross takes Bucketize, Categorical, Numeric, Tokens or Cross features, got {type(feature).__name__}")
        if len(components) < 2:
            raise ValueError(f"a Cross needs at least 2 features, got {len(components)}")
        self._components = tuple(components)
        self.name = check_name(name if name is not None else " x ".join(c.name for c in components), "feature name")

    @classmethod
    def pairs(cls, group_a: Feature | Sequence[Feature], group_b: Feature | Sequence[Feature] | None = None) -> list[Cross]:
        """Every cross of a feature of ``group_a`` with one of ``group_b`` (VW's ``-q ab``).

        With one group (or the same group twice), every unordered pair of distinct features.

        >>> a, b, c = Categorical("a"), Categorical("b"), Categorical("c")
        >>> [x.name for x in Cross.pairs([a, b], c)], [x.name for x in Cross.pairs([a, b, c])]
        (['a x c', 'b x c'], ['a x b', 'a x c', 'b x c'])
        """
        first = _as_group(group_a)
        second = first if group_b is None or group_b is group_a else _as_group(group_b)
        return interaction_crosses([first, second])

    @property
    def components(self) -> tuple[Component, ...]:
        return self._components

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.column for c in self._components))

    @property
    def arity(self) -> int:
        return len(self._components)

    @property
    def size(self) -> int | None:
        """Number of cells (product of the component sizes), or None if one is unbounded."""
        total = 1
        for c in self._components:
            if c.size is None:
                return None
            total *= c.size
        return total

    def _to_json(self) -> dict[str, Any]:
        return {"type": "cross", "name": self.name, "features": [c._to_json() for c in self._components]}

    def _key(self) -> tuple[Any, ...]:
        return ("cross", self.name, tuple(c._key() for c in self._components))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cross) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Cross({', '.join(repr(c) for c in self._components)}, name={self.name!r})"


Feature = Union[Bucketize, Categorical, Numeric, Tokens, Cross]
FEATURE_TYPES = (Bucketize, Categorical, Numeric, Tokens, Cross)


def _as_group(group: Feature | Sequence[Feature]) -> tuple[Feature, ...]:
    return (group,) if isinstance(group, FEATURE_TYPES) else tuple(group)


def interaction_crosses(groups: Sequence[Sequence[Feature]]) -> list[Cross]:
    """The crosses of one feature from each group, in order; a group repeated contributes
    distinct features in their order (unordered pairs, no feature crossed with itself). Each is
    named after its features joined by " x "."""
    crosses, seen = [], set()
    for combo in itertools.product(*groups):
        names = [f.name for f in combo]
        if len(set(names)) < len(names):
            continue
        key = tuple(sorted(names)) if all(g is groups[0] for g in groups) else tuple(names)
        if key in seen:
            continue
        seen.add(key)
        crosses.append(Cross(*combo, name=" x ".join(names)))  # "lat x lon 60' x kind", not every component
    return crosses


def expand_interactions(groups: Mapping[str, Sequence[Feature]], interactions: Iterable[Sequence[str]]) -> list[Cross]:
    """The crosses that ``interactions`` (tuples of group names) ask for; ``KeyError`` on an unknown name."""
    out: list[Cross] = []
    for pair in interactions:
        if isinstance(pair, str) or len(pair) < 2:
            raise ValueError(f"an interaction names two or more groups, e.g. ('geo', 'kind'); got {pair!r}")
        unknown = [g for g in pair if g not in groups]
        if unknown:
            raise KeyError(f"interaction {tuple(pair)!r} names {', '.join(map(repr, unknown))}, which is neither a group "
                           f"nor a feature; known: {sorted(groups)}")
        members = [groups[g] for g in pair]
        same = all(g == pair[0] for g in pair)
        out.extend(interaction_crosses([members[0]] * len(pair) if same else members))
    return out
