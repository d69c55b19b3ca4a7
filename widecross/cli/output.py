"""Where each kind of output goes: results to stdout (text or ``--json``), progress and notes to
stderr (only on a terminal, never with ``--quiet``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np


class Console:
    def __init__(self, args: argparse.Namespace) -> None:
        self.quiet = bool(getattr(args, "quiet", False))
        self.as_json = bool(getattr(args, "json", False))

    def progress(self, label: str = "", unit: str = "rows") -> Any:
        from .._progress import Progress

        return Progress(label=label, unit=unit, enabled=None if not self.quiet else False)

    def note(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr)

    def result(self, payload: dict[str, Any], text: str) -> None:
        print(json.dumps(payload, indent=2, default=_json_default) if self.as_json else text)


def figure(key: str, value: Any, digits: int) -> str:
    """A reported figure: integers with separators, floats to ``digits`` places, and the ones the
    data leaves undefined (None, see ``widecross.metrics.UNDEFINED``) saying why."""
    if value is None:
        from ..metrics import UNDEFINED

        return f"undefined ({UNDEFINED[key]})" if key in UNDEFINED else "undefined"
    return f"{value:,}" if isinstance(value, int) else f"{value:.{digits}f}"


def _json_default(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v.tolist() if isinstance(v, np.ndarray) else str(v)
