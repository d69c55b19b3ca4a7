"""Pictures of a regularization path (matplotlib, an optional dependency: ``widecross[plot]``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np


def pyplot() -> Any:
    """matplotlib's pyplot on a file backend, or an ``ImportError`` that says how to get it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'widecross[plot]'") from None
    return plt


def _save(figure: Any, path: Path) -> Path:
    plt = pyplot()
    figure.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    figure.savefig(tmp, dpi=110)
    plt.close(figure)
    os.replace(tmp, path)
    return path


def plot_path(points: list[dict[str, Any]], key: str, chosen: int, sparser: int, path: Path,
              chosen_l1: float | None = None, vertex_l1: float | None = None) -> Path:
    """Held-out ``key`` and nonzeros against l1: the chosen l1 (index ``chosen``, the lowest
    held-out loss: what ``l1="auto"`` takes) marked, and the sparsest point within one standard
    error of it (index ``sparser``; -1: none). ``vertex_l1``: the l1 chosen between path points
    (``l1="auto"`` takes the vertex of the parabola through the lowest point and its
    neighbours); ``chosen_l1``: the value finally fitted, when it differs (``l1="auto"``
    rescales it for all the rows)."""
    plt = pyplot()
    l1 = np.array([p["l1"] for p in points])
    nnz = np.array([p["nnz"] for p in points])
    held = np.array([p[key] for p in points])
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 8))
    top.semilogx(l1, held, "o-", color="black")
    top.set_ylabel(f"held-out {key}")
    marked = l1[chosen] if vertex_l1 is None else vertex_l1
    between = "" if np.isclose(marked, l1[chosen]) else ", between path points"
    top.axvline(marked, color="green", linestyle="--", label=f"chosen l1 = {marked:.2g} (lowest held-out loss{between})")
    top.plot([l1[chosen]], [held[chosen]], "o", color="green", markersize=10)
    if chosen_l1 is not None and not np.isclose(chosen_l1, marked):
        top.axvline(chosen_l1, color="green", linestyle="-", label=f"fitted on all rows: l1 = {chosen_l1:.2g}")
    if 0 <= sparser != chosen:
        top.axvline(l1[sparser], color="grey", linestyle=":", label=f"sparsest within 1 s.e.: {l1[sparser]:.2g}")
    appropriate = [i for i, p in enumerate(points) if p.get("regime") == "appropriate"]
    if appropriate:
        top.axvspan(l1[max(appropriate)], l1[min(appropriate)], color="green", alpha=0.08)
    top.text(0.02, 0.95, "too small l1: dense, overfits", transform=top.transAxes, va="top", fontsize=8)
    top.text(0.98, 0.95, "too large l1: (nearly) all zero, underfits", transform=top.transAxes, va="top", ha="right",
             fontsize=8)
    top.legend(loc="lower center", fontsize=8)
    top.set_title("regularization path")
    bottom.loglog(l1, np.maximum(nnz, 0.8), "s-", color="tab:blue")
    bottom.set_xlabel("l1")
    bottom.set_ylabel("nonzero weights")
    bottom.axvline(marked, color="green", linestyle="--")
    return _save(figure, path)


def plot_l1_path(estimator: Any, path: Path) -> Path:
    """The path an ``l1="auto"`` fit chose on (``estimator.l1_path_``), the chosen l1 marked."""
    from .estimators.path import choose

    record = estimator.l1_path_
    points = [{"l1": float(a), "nnz": int(b), "loss": float(c), "loss_se": float(d)}
              for a, b, c, d in zip(record["l1"], record["nnz"], record["held_out_loss"], record["held_out_loss_se"])]
    if not points:
        raise ValueError("the fit chose l1 without a path (too few rows, one class or no feature that varies)")
    choose(points, "loss")  # labels the regimes
    return plot_path(points, "loss", record["chosen"], record["one_se"], Path(path), chosen_l1=estimator.l1_,
                     vertex_l1=record.get("chosen_l1"))


def plot_weight_histograms(path: Path, X: Any, y: np.ndarray, l1: float, make: Callable[[float, float], Any]) -> Path:
    """L1 against L2 on the same data: exact zeros against a peak of small, nonzero weights.

    ``make(l1, l2)`` returns an unfitted estimator with those penalties.
    """
    plt = pyplot()
    touched = np.unique(X.indices)
    results = {}
    for name, (a, b) in (("L1", (l1, 0.0)), ("L2", (0.0, max(l1 * 100, 1e-6)))):
        model = make(a, b).fit(X, y).model_
        weights = np.zeros(touched.size)
        present = np.isin(touched, model.indices)
        weights[present] = model.get_weights(touched[present])
        results[name] = (a if name == "L1" else b, weights)
    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for axis, (name, (strength, weights)) in zip(axes, results.items()):
        zeros = int((weights == 0).sum())
        axis.hist(weights, bins=101, color="tab:red" if name == "L1" else "tab:blue", log=True)
        axis.set_title(f"{name} ({name.lower()} = {strength:.2g}): {zeros:,} of {weights.size:,} touched weights exactly 0",
                       fontsize=9)
        axis.set_xlabel("weight")
    axes[0].set_ylabel("count (log)")
    return _save(figure, path)
