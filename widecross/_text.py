"""Numbers as people read them in reports (the command line's and the tasks')."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def size(n: float) -> str:
    """Bytes in B, KB, MB, GB or TB (powers of 1000).

    >>> size(999), size(1_234_567)
    ('999 B', '1.2 MB')
    """
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} TB"


def value(v: Any, float_format: str = ".4g") -> str:
    if isinstance(v, float):
        return format(v, float_format)
    if isinstance(v, (int, np.integer)):
        return f"{v:,}"
    return str(v)


def _cell(v: Any) -> str:
    if v is None:  # a figure the data leaves undefined (widecross.metrics.UNDEFINED)
        return "undefined"
    return value(v, ".3g" if isinstance(v, float) and v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e6) else ".4f")


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Rows of dicts as right-aligned text columns under a header."""
    body = [[_cell(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in body)) if body else len(c) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in body]
    return "\n".join(lines)
