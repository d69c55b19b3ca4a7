"""Drawing a model's weight map to a file, with what was drawn, left out and listed as strips."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ..maps import margin_layers, render_weight_map


def draw_map(model: Any, output: str | Path, pixel_minutes: float | None = None, keys: Any = None,
             region: Sequence[float] | None = None) -> dict[str, Any]:
    """Render ``model``'s lat x lon crosses to ``output`` (see :func:`widecross.maps.render_weight_map`);
    returns the path, the cells drawn per cross, the nonzero marginal buckets per strip and the
    cells left out per cross or strip (hashed columns shared with another recorded key)."""
    path, layers = render_weight_map(model, output, pixel_minutes=pixel_minutes, keys=keys, region=region)
    margins = margin_layers(model, keys)
    return {"path": str(path), "layers": {layer.name: layer.n_cells for layer in layers},
            "left_out": {layer.name: layer.left_out for layer in [*layers, *margins]},
            "marginals": {m.name: m.n_cells for m in margins},
            "marginal_axes": {m.name: m.axis for m in margins}}


def describe_map(result: dict[str, Any]) -> str:
    """The lines the command line prints for :func:`draw_map`'s result."""
    lines = [f"map written to {result['path']}: " + ", ".join(f"{name} {n:,} cells" for name, n in result["layers"].items())]
    lines += [f"  marginal {name}: {n:,} nonzero buckets (strip along the "
              f"{'right' if result['marginal_axes'][name] == 'lat' else 'bottom'})" for name, n in result["marginals"].items()]
    left_out = sum(result["left_out"].values())
    if left_out:
        lines.append(f"  {left_out:,} nonzero cells left out: their hashed columns are shared with another recorded key")
    return "\n".join(lines)
