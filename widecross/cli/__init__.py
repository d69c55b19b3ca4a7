"""The ``widecross`` command line: demo, gen, train, evaluate, predict, inspect, path, map.

It parses (:mod:`.parser`, with the option types of :mod:`.options`), calls the library's tasks
(:mod:`widecross.tasks`) and prints (:mod:`.output`); nothing else. Results go to stdout (``--json``
for machines); progress goes to stderr, only on a terminal and never with ``--quiet``. Exit codes:
0 success, 1 a data or model error (one line naming the file, column or row; an unforeseen error is
one line too, never a traceback), 2 a usage error, including every invalid option value.

>>> main(["inspect", "model.wcm"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from ..features.flags import ConflictingOptions
from .commands import RUN
from .parser import build_parser as _build_parser
from .parser import parse

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
ERRORS = (ValueError, KeyError, TypeError, OSError, ImportError, FloatingPointError)


def build_parser() -> argparse.ArgumentParser:
    return _build_parser(RUN)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 data/model error, 2 usage error)."""
    parser = build_parser()
    args = parse(parser, argv)
    try:
        return args.func(args)
    except ConflictingOptions as error:  # options that do not go together: a usage error
        parser.error(str(error))
    except KeyboardInterrupt:
        print("widecross: interrupted", file=sys.stderr)
        return 130
    except ERRORS as error:  # ModelFormatError is a ValueError
        message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
        print(f"widecross {args.command}: error: {message}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as error:  # a bug of ours: still one line, never a traceback
        print(f"widecross {args.command}: internal error ({type(error).__name__}): {error}", file=sys.stderr)
        return EXIT_ERROR
