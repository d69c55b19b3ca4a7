"""Two checkouts of widecross side by side: training speed ratios and the same model bits.

Measures the widecross parts of ``bench_train.py`` (the ``width`` section's default fit and bare
epoch per width, the ``fit`` section's optimizers and penalties with and without the polish, the
Newton single pass, and ``partial_fit`` calls) for checkout A (the reference) and checkout B, in
one process: each checkout's package is loaded under its own name (``widecross_a``,
``widecross_b``: the package imports itself relatively), and the fits alternate A, A', B in a
rotating order, so that a neighbour's load falls on all of them alike. A' is a second copy of A:
the ratio A' / A is what identical code measures here, the noise floor to read B / A against.

Times are CPU seconds (``time.process_time``), medians over ``--rounds``; the ratios are medians
of the per-round ratios. ``same_model`` says whether A and B fitted the same bits (indices,
values and intercept of the model). Compiled kernels are loaded by a first small fit of each
configuration, not measured; copies of the same sources share Numba's cache of them, and a copy
of this checkout starts from the kernels its own runs cached, so each revision compiles at most
once (``--quick`` on an unchanged, tested checkout: about 10 CPU seconds instead of 30).

    python benchmarks/ab_train.py --a ../old-checkout            # B: this checkout
    python benchmarks/ab_train.py --a ../old-checkout --quick    # seconds
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from benchmarks.common import format_table, save_results  # noqa: E402

# name -> (bits, WideClassifier parameters, how it is trained)
CONFIGS: dict[str, tuple[int, dict[str, Any], str]] = {
    "width 2^18 sparse fit5": (18, dict(layout="sparse"), "fit"),
    "width 2^18 sparse epoch": (18, dict(layout="sparse", epochs=1, polish=0), "fit"),
    "width 2^18 auto(dense) fit5": (18, dict(layout="auto"), "fit"),
    "width 2^18 auto(dense) epoch": (18, dict(layout="auto", epochs=1, polish=0), "fit"),
    "width 2^24 sparse fit5": (24, dict(layout="sparse"), "fit"),
    "width 2^24 sparse epoch": (24, dict(layout="sparse", epochs=1, polish=0), "fit"),
    "width 2^28 sparse fit5": (28, dict(layout="sparse"), "fit"),
    "width 2^28 sparse epoch": (28, dict(layout="sparse", epochs=1, polish=0), "fit"),
    "fit sgd l1=1e-6 (default)": (24, dict(l1=1e-6), "fit"),
    "fit sgd l1=1e-6 polish=0": (24, dict(l1=1e-6, polish=0), "fit"),
    "fit sgd l1=1e-7": (24, dict(l1=1e-7), "fit"),
    "fit sgd l1=1e-7 polish=0": (24, dict(l1=1e-7, polish=0), "fit"),
    "fit ftrl l1=1e-6": (24, dict(optimizer="ftrl", l1=1e-6), "fit"),
    "fit ftrl l1=1e-6 polish=0": (24, dict(optimizer="ftrl", l1=1e-6, polish=0), "fit"),
    "fit ftrl l1=1e-7": (24, dict(optimizer="ftrl", l1=1e-7), "fit"),
    "fit ftrl l1=1e-7 polish=0": (24, dict(optimizer="ftrl", l1=1e-7, polish=0), "fit"),
    "fit sgd newton l1=1e-7 one pass": (24, dict(schedule="newton", l1=1e-7, epochs=1, polish=0), "fit"),
    "stream partial_fit 2^26": (26, dict(), "partial_fit"),
}
SIDES = ("A", "A'", "B")


def load_packages(a: Path, b: Path, directory: Path) -> dict[str, Any]:
    """Each checkout's ``widecross`` copied under its own name and imported.

    Copies of the same sources (A' always, B when it is A's revision) share the first copy's
    ``__pycache__`` directories, where Numba caches compiled kernels by the source's content: each
    revision compiles its kernels once, not once per copy. Each copy still imports and runs its
    own modules under its own name."""
    names = {"A": "widecross_a", "A'": "widecross_a2", "B": "widecross_b"}
    sources = {"A": a / "widecross", "A'": a / "widecross", "B": b / "widecross"}
    first: dict[str, Path] = {}  # content digest -> the copy whose caches later copies share
    for side, name in names.items():
        target = directory / name
        shutil.copytree(sources[side], target, ignore=shutil.ignore_patterns("__pycache__"))
        key = _digest_sources(target)
        if key in first:
            _share_caches(first[key], target)
        else:
            first[key] = target
            if sources[side].resolve() == HERE / "widecross":
                _seed_kernel_cache(sources[side], target)
    sys.path.insert(0, str(directory))
    return {side: importlib.import_module(name) for side, name in names.items()}


def _digest_sources(package: Path) -> str:
    """A digest of a package's files (relative paths and contents)."""
    h = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _seed_kernel_cache(package: Path, copy: Path) -> None:
    """Copy the kernels Numba cached for ``package`` (this checkout's, which ``import widecross``
    gives) into ``copy``: they are keyed by the sources' content, which the copy shares, so a
    checkout whose tests ran compiles nothing here."""
    for cached in package.rglob("__pycache__/*.nb[ic]"):
        target = copy / cached.relative_to(package)
        target.parent.mkdir(exist_ok=True)
        shutil.copy2(cached, target)


def _share_caches(owner: Path, copy: Path) -> None:
    """Point every ``__pycache__`` of ``copy`` at the same directory of ``owner`` (same sources)."""
    for source_dir in sorted({p.parent for p in copy.rglob("*.py")}):
        shared = owner / source_dir.relative_to(copy) / "__pycache__"
        shared.mkdir(exist_ok=True)
        (source_dir / "__pycache__").symlink_to(shared, target_is_directory=True)


def make_data(n_rows: int, package: Any) -> tuple[dict[int, Any], Any]:
    import data_gen

    rows = data_gen.generate_housing(n_rows, seed=0)
    columns = {"lat": rows["lat"], "lon": rows["lon"]}
    matrices = {bits: package.geo_spec(bits=bits).transform(columns) for bits in sorted({c[0] for c in CONFIGS.values()})}
    return matrices, rows["label"].astype("float64")


def fit(package: Any, X: Any, y: Any, params: dict[str, Any], how: str, batch: int = 1000) -> Any:
    clf = package.WideClassifier(random_state=0, **params)
    if how == "fit":
        return clf.fit(X, y).model_
    for start in range(0, X.shape[0], batch):
        clf.partial_fit(X[start : start + batch], y[start : start + batch], classes=[0, 1])
    return clf.model_


def digest(model: Any) -> str:
    import numpy as np

    data = model.indices.tobytes() + model.values.tobytes() + np.float64(model.intercept).tobytes()
    return hashlib.sha256(data).hexdigest()[:16]


def measure(packages: dict[str, Any], matrices: dict[int, Any], y: Any, rounds: int, stream_rows: int,
            configs: dict[str, tuple[int, dict[str, Any], str]]) -> list[dict]:
    out = []
    for name, (bits, params, how) in configs.items():
        X = matrices[bits] if how == "fit" else matrices[bits][:stream_rows]
        yy = y[: X.shape[0]]
        for package in packages.values():  # load the compiled kernels
            fit(package, X[:2000], yy[:2000], params, how)
        times: dict[str, list[float]] = {side: [] for side in SIDES}
        models = {}
        for r in range(rounds):
            for side in SIDES[r % 3:] + SIDES[: r % 3]:  # a rotating order
                start = time.process_time()
                models[side] = fit(packages[side], X, yy, params, how)
                times[side].append(time.process_time() - start)
        ratio = lambda s: statistics.median(t / a for t, a in zip(times[s], times["A"]))  # noqa: E731
        out.append(dict(config=name, a_cpu_s=statistics.median(times["A"]), b_cpu_s=statistics.median(times["B"]),
                        ratio_b_a=ratio("B"), control_a2_a=ratio("A'"), same_model=digest(models["A"]) == digest(models["B"])))
        print(format_table(out[-1:]).splitlines()[-1], flush=True)
    return out


def _commit(root: Path) -> str:
    proc = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return (proc.stdout.strip() or "unknown") + (" (with uncommitted changes)" if dirty else "")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", type=Path, required=True, help="checkout A, the reference (e.g. the previous commit)")
    parser.add_argument("--b", type=Path, default=HERE, help="checkout B (default: this one)")
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="small data, three rounds (for tests)")
    parser.add_argument("--only", default=None, help="measure the configurations whose name holds this text")
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    n_rows, rounds = (5000, 3) if args.quick else (args.rows, args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        packages = load_packages(args.a.resolve(), args.b.resolve(), Path(tmp))
        matrices, y = make_data(n_rows, packages["B"])
        configs = {k: v for k, v in CONFIGS.items() if args.only is None or args.only in k}
        rows = measure(packages, matrices, y, rounds, min(n_rows, 200_000), configs)
    print(format_table(rows))
    params = dict(rows=n_rows, rounds=rounds, a=_commit(args.a), b=_commit(args.b), partial_fit_batch=1000)
    path = save_results("ab_train", rows, params, quick=args.quick, results_dir=args.results_dir)
    print(f"saved {path}")
    return rows


if __name__ == "__main__":
    main()
