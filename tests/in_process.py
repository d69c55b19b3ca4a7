"""A command line's main function run in the test's own process, answered like ``subprocess.run``.

Starting an interpreter costs a second or two of CPU per call (NumPy, Numba and the package are
imported again); tests that are not about the process boundary call the main function instead.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
from typing import Callable, Sequence


def run_main(main: Callable[[Sequence[str]], int], *args: str) -> subprocess.CompletedProcess:
    """``main(args)`` with stdout and stderr captured; argparse's exits (usage errors, --help) give their code."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit_:
            code = exit_.code
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())
