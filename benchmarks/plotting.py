"""PNG plots for benchmark results (matplotlib, headless), named like the result files.

    fig, ax = new_figure()
    ax.plot([1, 2], [3, 4], **style("widecross"))
    save_png(fig, "peers_throughput")       # benchmarks/results/peers_throughput.png
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS_DIR

# One colour and marker per tool family, the same in every plot.
STYLE = {
    "widecross": dict(color="tab:blue", marker="o"),
    "sklearn": dict(color="tab:orange", marker="s"),
    "vw": dict(color="tab:green", marker="^"),
}


def new_figure(width: float = 7.0, height: float = 4.5) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    ax.grid(True, alpha=0.3)
    return fig, ax


def style(tool: str, index: int = 0) -> dict[str, Any]:
    """Colour of ``tool``'s family; ``index`` varies the line style and, past the family's own
    marker, the marker too (single-point series have no line to tell them apart)."""
    base = dict(STYLE.get(tool, dict(color="tab:gray", marker="x")))
    base["linestyle"] = ("-", "--", ":", "-.")[index % 4]
    if index >= 3:
        base["marker"] = ("D", "v", "P", "*", "X")[(index - 3) % 5]
    return base


def save_png(fig: Any, name: str, quick: bool = False, results_dir: Path | None = None) -> Path:
    """Write ``{name}.png`` (``{name}.quick.png`` for quick runs, at a third of the resolution)
    atomically; close the figure."""
    import matplotlib.pyplot as plt

    directory = Path(results_dir) if results_dir is not None else RESULTS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (f"{name}.quick.png" if quick else f"{name}.png")
    tmp = path.with_name(path.name + ".tmp.png")
    fig.tight_layout()
    fig.savefig(tmp, dpi=40 if quick else None)
    plt.close(fig)
    os.replace(tmp, path)
    return path
