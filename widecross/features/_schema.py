"""A small JSON Schema checker: the subset ``spec.schema.json`` uses, with errors that give the path.

Keywords: ``$ref`` (local ``#/$defs/...``), ``type``, ``const``, ``enum``, ``properties``,
``required``, ``additionalProperties: false``, ``items``, ``minItems``, ``minimum``,
``maximum``, ``exclusiveMinimum``, ``minLength``, ``oneOf``. A ``oneOf`` whose branches are
objects told apart by a ``type`` constant reports the errors of the branch the value names, so
a typo in a bucketizer says so instead of "matches none of five".

>>> schema = {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer", "minimum": 1}}}
>>> check({"n": 0}, schema)
Traceback (most recent call last):
ValueError: n: must be >= 1, got 0
"""

from __future__ import annotations

from typing import Any

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def check(value: Any, schema: dict[str, Any], root: dict[str, Any] | None = None, path: str = "") -> None:
    """Raise ``ValueError("path: what is wrong")`` unless ``value`` satisfies ``schema``."""
    root = schema if root is None else root
    if "$ref" in schema:
        check(value, _resolve(root, schema["$ref"]), root, path)
        return
    where = path or "the spec"
    if "oneOf" in schema:
        _check_one_of(value, schema["oneOf"], root, path)
    if "const" in schema and not _same(value, schema["const"]):
        raise ValueError(f"{where}: must be {schema['const']!r}, got {value!r}")
    if "enum" in schema and not any(_same(value, choice) for choice in schema["enum"]):
        raise ValueError(f"{where}: must be one of {', '.join(map(repr, schema['enum']))}; got {value!r}")
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[k](value) for k in kinds):
            raise ValueError(f"{where}: must be {' or '.join(_article(k) for k in kinds)}, got {value!r}")
    _check_bounds(value, schema, where)
    if isinstance(value, dict):
        _check_object(value, schema, root, path)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            check(item, schema["items"], root, f"{path}[{i}]")


def _check_bounds(value: Any, schema: dict[str, Any], where: str) -> None:
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            raise ValueError(f"{where}: must be >= {schema['minimum']}, got {value!r}")
        if "maximum" in schema and value > schema["maximum"]:
            raise ValueError(f"{where}: must be <= {schema['maximum']}, got {value!r}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            raise ValueError(f"{where}: must be > {schema['exclusiveMinimum']}, got {value!r}")
    if isinstance(value, str) and len(value) < schema.get("minLength", 0):
        raise ValueError(f"{where}: must not be empty")
    if isinstance(value, list) and len(value) < schema.get("minItems", 0):
        raise ValueError(f"{where}: needs at least {schema['minItems']} item(s), got {len(value)}")


def _check_object(value: dict[str, Any], schema: dict[str, Any], root: dict[str, Any], path: str) -> None:
    properties = schema.get("properties", {})
    missing = [key for key in schema.get("required", []) if key not in value]
    if missing:
        raise ValueError(f"{path or 'the spec'}: missing field{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}")
    if schema.get("additionalProperties") is False:
        extra = sorted(set(value) - set(properties))
        if extra:
            raise ValueError(f"{path or 'the spec'}: unknown field{'s' if len(extra) > 1 else ''} "
                             f"{', '.join(map(repr, extra))}; known: {', '.join(sorted(properties))}")
    for key, sub in properties.items():
        if key in value:
            check(value[key], sub, root, f"{path}.{key}" if path else key)


def _check_one_of(value: Any, branches: list[dict[str, Any]], root: dict[str, Any], path: str) -> None:
    resolved = [_resolve(root, b["$ref"]) if "$ref" in b else b for b in branches]
    tags = [b.get("properties", {}).get("type", {}).get("const") for b in resolved]
    if all(tags) and isinstance(value, dict):
        if value.get("type") not in tags:
            raise ValueError(f"{path or 'the spec'}: 'type' must be one of {', '.join(map(repr, tags))}; got {value.get('type')!r}")
        check(value, resolved[tags.index(value["type"])], root, path)
        return
    errors = []
    for branch in resolved:
        try:
            check(value, branch, root, path)
            return
        except ValueError as error:
            errors.append(str(error).split(": ", 1)[-1])
    raise ValueError(f"{path or 'the spec'}: {' or '.join(dict.fromkeys(errors))}")


def _same(value: Any, choice: Any) -> bool:
    """JSON equality: as Python's ``==``, except that a boolean is no number (true is not 1)."""
    return value == choice and isinstance(value, bool) == isinstance(choice, bool)


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = root
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def _article(kind: str) -> str:
    return {"object": "an object", "array": "a list", "integer": "an integer", "null": "null"}.get(kind, f"a {kind}")
