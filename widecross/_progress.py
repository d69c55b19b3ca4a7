"""A small progress line on stderr: rows/s, ETA and a running figure such as the loss.

Off when stderr is not a terminal (logs and pipes stay clean) or when the caller asks for quiet.
"""

from __future__ import annotations

import math
import sys
import time
from typing import IO


class Progress:
    """Redraws one status line at most every ``interval`` seconds.

    >>> with Progress(total=1000, enabled=False) as bar:
    ...     bar.update(500, loss=0.51)
    """

    def __init__(
        self,
        total: int | None = None,
        label: str = "",
        unit: str = "rows",
        enabled: bool | None = None,
        stream: IO[str] | None = None,
        interval: float = 0.25,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = enabled
        self.total = total
        self.label = label
        self.unit = unit
        self.interval = interval
        self.done = 0
        self.start = time.perf_counter()
        self._last_draw = -math.inf  # the first update draws at once
        self._postfix: dict[str, float | str] = {}
        self._width = 0

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_total(self, total: int | None, label: str | None = None) -> None:
        """The amount of work, and (unless None) a new label: what the work turned out to be."""
        self.total = total
        if label is not None:
            self.label = label

    def update(self, n: int, **postfix: float | str) -> None:
        self.done += n
        self._postfix.update(postfix)
        now = time.perf_counter()
        if self.enabled and now - self._last_draw >= self.interval:
            self._last_draw = now
            self._draw(now)

    @property
    def rate(self) -> float:
        elapsed = time.perf_counter() - self.start
        return self.done / elapsed if elapsed > 0 else 0.0

    def _draw(self, now: float) -> None:
        elapsed = now - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        parts = [self.label] if self.label else []
        if self.total:
            share = min(1.0, self.done / self.total)
            filled = int(share * 20)
            parts.append(f"[{'#' * filled}{'.' * (20 - filled)}] {share:6.1%}")
            parts.append(f"{self.done:,}/{self.total:,} {self.unit}")
            if rate > 0 and self.done < self.total:
                parts.append(f"ETA {_clock((self.total - self.done) / rate)}")
        else:
            parts.append(f"{self.done:,} {self.unit}")
        parts.append(f"{rate:,.0f} {self.unit}/s")
        parts.append(f"elapsed {_clock(elapsed)}")
        for key, value in self._postfix.items():
            parts.append(f"{key} {value:.4f}" if isinstance(value, float) else f"{key} {value}")
        line = "  ".join(parts)
        pad = max(0, self._width - len(line))
        self._width = len(line)
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.done:
            self._draw(time.perf_counter())
            self.stream.write("\n")
            self.stream.flush()
        self.enabled = False


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
