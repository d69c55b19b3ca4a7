"""Shared plumbing for benchmark scripts: machine facts, peak RSS, tables, JSON results.

Every result file records the machine, library versions and git commit, so a number can always
be traced back to what produced it. Ratios between tools are only meaningful when measured side
by side in one run: the machines are shared and noisy.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine_info() -> dict[str, Any]:
    """CPU, core count, memory and package versions for the result header."""
    import numpy

    info: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "commit": git_commit(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "numpy": numpy.__version__,
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    # Installed versions from the package metadata: importing scikit-learn or pyarrow just to
    # read a version string costs seconds.
    for name, distribution in (("scipy", "scipy"), ("numba", "numba"), ("sklearn", "scikit-learn"),
                               ("vowpalwabbit", "vowpalwabbit"), ("pyarrow", "pyarrow")):
        try:
            info[name] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            pass
    try:
        import widecross

        info["widecross"] = widecross.__version__
    except ImportError:
        pass
    return info


def peak_rss_mb() -> float:
    """Peak resident set size of this process image so far, in MB.

    ``VmHWM`` from ``/proc/self/status`` where available: it restarts at ``exec``, whereas
    ``ru_maxrss`` of a child started by fork + exec can carry the parent's peak (a big parent
    would hide the child's own figure). Elsewhere ``ru_maxrss`` (KiB on Linux).
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def settled_rss_mb() -> float:
    """:func:`current_rss_mb` after freed heap memory went back to the system (glibc's
    ``malloc_trim``): a later load then shows in the RSS instead of reusing pages freed before."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    return current_rss_mb()


def current_rss_mb() -> float:
    """Current resident set size in MB (from /proc; 0.0 where unavailable)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return 0.0


def timed(fn: Callable[[], Any], repeats: int = 1) -> tuple[float, float, Any]:
    """Median wall and CPU seconds of ``fn()`` over ``repeats`` runs, and the last result.

    >>> wall, cpu, value = timed(lambda: sum(range(10)), repeats=3)
    >>> value
    45
    """
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        result = None  # free the previous result before the next run
        w0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        cpus.append(time.process_time() - c0)
        walls.append(time.perf_counter() - w0)
    return statistics.median(walls), statistics.median(cpus), result


# Appended to a child's code: its own peak (as in peak_rss_mb), printed as the last JSON line.
_PEAK_TRAILER = """
import json as _j, resource as _r, sys as _s
_s.stdout.flush()
try:
    _hwm = [_l for _l in open("/proc/self/status") if _l.startswith("VmHWM:")][0].split()[1]
    _peak = int(_hwm) / 1024.0
except (OSError, IndexError, ValueError):
    _peak = _r.getrusage(_r.RUSAGE_SELF).ru_maxrss / 1024.0
print(_j.dumps({"__peak_rss_mb__": _peak}))
"""


def run_python_measured(code: str, timeout: float = 3600) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; it must print one JSON object as its last line.

    The child's own peak RSS (its ``VmHWM``, see :func:`peak_rss_mb`) at the end of ``code`` is
    added as ``peak_rss_mb``: a fresh process is the only honest way to attribute peak memory to
    one tool. The child runs with this repository first on ``sys.path``.
    """
    root = str(Path(__file__).resolve().parents[1])
    wrapper = f"import sys as _s0\n_s0.path.insert(0, {root!r})\n" + code + "\n" + _PEAK_TRAILER
    proc = subprocess.run(
        [sys.executable, "-c", wrapper], capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"benchmark child printed no JSON:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    result = json.loads(lines[-2]) if len(lines) >= 2 else {}
    result["peak_rss_mb"] = json.loads(lines[-1])["__peak_rss_mb__"]
    return result


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A Markdown table of ``rows`` (dicts); floats get a compact format."""
    if not rows:
        return "(no rows)"
    # Rows of one table may carry different keys (sections of a benchmark): show them all.
    columns = list(columns or dict.fromkeys(k for row in rows for k in row))

    def cell(value: Any) -> str:
        if isinstance(value, float):
            if value == 0 or 1e-3 <= abs(value) < 1e7:
                return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
            return f"{value:.3e}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    body = [[cell(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in body)) for i, c in enumerate(columns)]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |",
        "| " + " | ".join("-" * w for w in widths) + " |",
    ]
    lines += ["| " + " | ".join(v.ljust(w) for v, w in zip(r, widths)) + " |" for r in body]
    return "\n".join(lines)


def save_results(
    name: str,
    rows: Iterable[dict[str, Any]],
    params: dict[str, Any] | None = None,
    quick: bool = False,
    results_dir: Path | None = None,
) -> Path:
    """Write ``{name}.json`` (and a Markdown table beside it) with machine facts; return the path.

    Quick runs go to ``{name}.quick.json`` so that they never overwrite a full run's figures.
    """
    rows = list(rows)
    directory = Path(results_dir) if results_dir is not None else RESULTS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{name}.quick" if quick else name
    payload = {"benchmark": name, "quick": quick, "machine": machine_info(), "params": params or {}, "rows": rows}
    path = directory / f"{stem}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    os.replace(tmp, path)
    (directory / f"{stem}.md").write_text(format_table(rows) + "\n")
    return path


# Prepended to a child's code by run_at_revision: the exported package comes first on sys.path
# and an editable install (which maps "widecross" to the working tree) is bypassed.
_REVISION_PREAMBLE = """
import sys
sys.meta_path = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
sys.path.insert(0, {src!r})
import widecross
assert widecross.__file__.startswith({src!r}), widecross.__file__
sys.path.insert(1, {root!r})
"""


def run_at_revision(revision: str, code: str, timeout: float = 3600) -> dict[str, Any]:
    """Run ``code`` with the ``widecross`` package of git ``revision`` (exported to a temporary
    directory); like :func:`run_python_measured`, it prints one JSON object as its last line.
    This is how a benchmark times the code before a change side by side with the code after."""
    import tempfile

    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="revision-") as src:
        archive = subprocess.run(["git", "archive", revision, "widecross"], cwd=root, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", src], input=archive.stdout, check=True)
        full = _REVISION_PREAMBLE.format(src=src, root=str(root)) + code
        proc = subprocess.run([sys.executable, "-c", full], capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"benchmark child at {revision} failed:\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])
