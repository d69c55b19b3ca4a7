"""Option types of the command line: each takes the text of one option and returns its value,
or raises ``argparse.ArgumentTypeError`` saying what was expected and what was given, which
argparse turns into a usage error (exit code 2) naming the option, before any command runs.
Whatever the library would refuse later (a negative penalty, a resolution that does not divide a
degree, a table or picture name it cannot write) is refused here; the geo options are judged by
``geo_spec`` itself.

>>> int_at_least(1)("3"), real(0, above=True)("0.5"), bits("exact"), resolutions("60,10")
(3, 0.5, None, (60, 10))
>>> real(0)("-1")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: must be >= 0, got -1
"""

from __future__ import annotations

import argparse
import math
from typing import Any, Callable

import numpy as np

from ..io import CSV_SUFFIXES, PARQUET_SUFFIXES


def number(text: str, kind: type) -> Any:
    """``text`` as an int or a finite float (``kind``)."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def int_at_least(low: int) -> Callable[[str], int]:
    """A checker of integers >= ``low``."""
    def parse(text: str) -> int:
        value = number(text, int)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {value}")
        return value

    return parse


def jobs(text: str) -> int:
    """Threads: a positive integer, or -1 for every core."""
    value = number(text, int)
    if value < 1 and value != -1:
        raise argparse.ArgumentTypeError(f"must be a positive integer or -1 (all cores), got {value}")
    return value


def real(low: float, *, above: bool = False, below: float | None = None, up_to: float | None = None) -> Callable[[str], float]:
    """A checker of finite numbers >= ``low`` (> with ``above``), and < ``below`` / <= ``up_to`` when given."""
    def parse(text: str) -> float:
        value = number(text, float)
        if value < low or (above and value == low) or (below is not None and value >= below) or (
                up_to is not None and value > up_to):
            bounds = [f"{'>' if above else '>='} {low:g}"] + ([f"< {below:g}"] if below is not None else []) + (
                [f"<= {up_to:g}"] if up_to is not None else [])
            raise argparse.ArgumentTypeError(f"must be {' and '.join(bounds)}, got {text}")
        return value

    return parse


def auto_or(parse: Callable[[str], float]) -> Callable[[str], float | str]:
    """A checker that takes ``auto`` (chosen by the library) or what ``parse`` takes.

    >>> auto_or(real(0))("auto"), auto_or(real(0))("1e-6")
    ('auto', 1e-06)
    """
    def parse_or_auto(text: str) -> float | str:
        return "auto" if text.strip().lower() == "auto" else parse(text)

    return parse_or_auto


def _geo_checked(**options: Any) -> None:
    """Let the library judge a geo_spec option (the lat/lon crosses' resolutions, bits, seed)."""
    from ..features import geo_spec

    try:
        geo_spec(**{"resolutions": (60,), **options})
    except (ValueError, TypeError) as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def resolutions(text: str) -> tuple[float, ...]:
    """Comma-separated cross resolutions in arc-minutes, each one geo_spec accepts, or 'none'
    (no lat/lon crosses: the other feature options, or --spec, describe the columns)."""
    if text.strip().lower() == "none":
        return ()
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"resolutions must be comma-separated minutes, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("resolutions must name at least one resolution")
    values = tuple(int(v) if math.isfinite(v) and v == int(v) else v for v in values)
    _geo_checked(resolutions=values)
    return values


def bits(text: str) -> int | None:
    """Hash bits geo_spec accepts, or None for 'exact' (or 'none')."""
    if text.lower() in ("exact", "none"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--bits takes an integer or 'exact', got {text!r}") from None
    _geo_checked(bits=value)
    return value


def hash_seed(text: str) -> int:
    """A feature hash seed geo_spec accepts."""
    seed = number(text, int)
    _geo_checked(seed=seed)
    return seed


def spec_bits(text: str) -> str:
    """:func:`bits` of a feature spec, returned as given: an option left out stays None, so that
    ``--spec`` can refuse every feature option given with it (``features.spec_from_flags``)."""
    bits(text)
    return text


def pixel_minutes(text: str) -> float:
    """Arc-minutes per map pixel (a fraction zooms into a region): 10800 (180 degrees) must be a
    whole number of pixels."""
    value = real(0, above=True)(text)
    pixels = 10800 / value
    if abs(pixels - round(pixels)) > 1e-9 * pixels:
        raise argparse.ArgumentTypeError(f"must divide 10800 (the minutes of 180 degrees), got {text}")
    return int(value) if value == int(value) else value


def bbox(text: str) -> tuple[float, float, float, float]:
    """A map region ``LAT0,LAT1,LON0,LON1`` in degrees (see ``maps.parse_region``)."""
    from ..maps import parse_region

    try:
        return parse_region(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def file_type(*suffixes: str) -> Callable[[str], str]:
    """A checker of file names ending in one of ``suffixes`` (the format is chosen by it)."""
    def parse(text: str) -> str:
        if not text.lower().endswith(suffixes):
            raise argparse.ArgumentTypeError(f"{text!r}: the file name must end in {', '.join(suffixes)}")
        return text

    return parse


png_file = file_type(".png")
table_file = file_type(*PARQUET_SUFFIXES, *CSV_SUFFIXES)


def l1_grid(text: str) -> np.ndarray:
    """``start:stop:count`` (log-spaced, either order) or a comma-separated list, strongest first."""
    try:
        if ":" in text:
            start, stop, count = text.split(":")
            low, high, n = float(start), float(stop), int(count)
            if low <= 0 or high <= 0 or n < 2:
                raise ValueError
            grid = np.geomspace(low, high, n)
        else:
            grid = np.array([float(v) for v in text.split(",")])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--l1 takes start:stop:count with positive bounds and count >= 2 (e.g. 1e-8:1e-3:12) "
            f"or a comma-separated list, got {text!r}"
        ) from None
    if np.any(grid < 0) or not np.all(np.isfinite(grid)):
        raise argparse.ArgumentTypeError(f"--l1 values must be finite and >= 0, got {text!r}")
    return np.sort(grid)[::-1]  # strongest first: warm starts then add weights gradually
