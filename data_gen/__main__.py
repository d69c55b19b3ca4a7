"""Command line: ``python -m data_gen --rows N --seed S --out houses.parquet``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence


def _count(text: str) -> int:
    """A non-negative row count; accepts 1000000, 1_000_000 and 1e6."""
    try:
        value = float(text.replace("_", "")) if any(c in text for c in ".eE") else int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value != int(value) or value < 0:
        raise argparse.ArgumentTypeError(f"not a whole non-negative number: {text!r}")
    return int(value)


def _positive(text: str) -> int:
    value = _count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1]: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m data_gen",
        description=(
            "Write synthetic global housing data (houses around real populated places, kept on "
            "land; prices with country, city and 1 degree / 10' / 1' cell effects) to Parquet or "
            "CSV. The same --seed and --world-seed always give the same rows."
        ),
    )
    parser.add_argument("--rows", type=_count, required=True, help="number of rows (e.g. 1000000 or 1e6)")
    parser.add_argument("--out", type=Path, required=True, help="output file (.parquet, or .csv)")
    parser.add_argument("--seed", type=_count, default=0, help="which houses are drawn (default 0)")
    parser.add_argument(
        "--world-seed", type=_count, default=0, help="the price surface; keep it fixed across train/test (default 0)"
    )
    parser.add_argument(
        "--chunk-rows", type=_positive, default=1_000_000, help="rows per chunk / Parquet row group (default 1e6)"
    )
    parser.add_argument(
        "--bad-fraction", type=_fraction, default=0.0, help="share of rows with corrupted coordinates (default 0)"
    )
    parser.add_argument("--csv", action="store_true", help="write CSV (the default when --out ends in .csv)")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .io import write_csv, write_parquet

    as_csv = args.csv or args.out.suffix.lower() == ".csv"
    writer = write_csv if as_csv else write_parquet
    show = not args.quiet and args.rows > args.chunk_rows
    t0 = time.perf_counter()

    def progress(done: int) -> None:
        if show:
            rate = done / max(time.perf_counter() - t0, 1e-9)
            print(f"\r{done:,} / {args.rows:,} rows ({rate:,.0f} rows/s)", end="", file=sys.stderr, flush=True)

    try:
        path = writer(
            args.out,
            args.rows,
            seed=args.seed,
            world_seed=args.world_seed,
            chunk_rows=args.chunk_rows,
            bad_fraction=args.bad_fraction,
            progress=progress,
        )
    except (ImportError, OSError, ValueError, TypeError) as error:
        print(f"\ndata_gen: error: {error}" if show else f"data_gen: error: {error}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - t0
    if show:
        print(file=sys.stderr)
    if not args.quiet:
        size = path.stat().st_size / 1e6
        print(
            f"data_gen: wrote {args.rows:,} rows ({size:,.1f} MB, {'CSV' if as_csv else 'Parquet'}) to {path} "
            f"in {elapsed:.2f} s ({args.rows / max(elapsed, 1e-9):,.0f} rows/s)",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
