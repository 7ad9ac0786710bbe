"""conv1 filters as a grid (Fig. 4): one tile per filter, each scaled to (-1, 1)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from monossl.rundir import read_json
from monossl.viz.figures import save_figure


def first_conv(trunk: nn.Module) -> nn.Conv2d:
    return next(m for m in trunk.features if isinstance(m, nn.Conv2d))


def filter_tiles(weight: torch.Tensor) -> np.ndarray:
    """(out, in, k, k) conv weights -> (out, k, k, 3) tiles, each filter scaled to (-1, 1) on its own.
    Filters on 2 Sobel channels show gradient x as red and gradient y as green."""
    w = weight.detach().float()
    if w.shape[1] == 2:
        w = torch.cat([w, torch.zeros_like(w[:, :1])], 1)
    elif w.shape[1] != 3:
        w = w.mean(1, keepdim=True).repeat(1, 3, 1, 1)
    scale = w.flatten(1).abs().max(1).values.clamp_min(1e-12)
    return (w / scale[:, None, None, None]).permute(0, 2, 3, 1).numpy()


def plot_filters(trunk_spec, path: str | Path, title: str | None = None, arch: str | None = None) -> Path:
    """Save the conv1 filters of a run/checkpoint (or a Trunk) as a PNG grid. The caption gives the
    linear-probe accuracy when a probe result sits in the run folder (probe*.json)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from monossl.nets.registry import resolve_trunk

    trunk = resolve_trunk(trunk_spec, arch)[0]
    tiles = filter_tiles(first_conv(trunk).weight)
    n = len(tiles)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.6, rows * 0.6 + 0.6))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, tile in zip(np.ravel(axes), tiles):
        ax.imshow((tile + 1) / 2, interpolation="nearest")
    caption = title or "conv1 filters"
    accuracy = probe_caption(trunk_spec)
    fig.suptitle(caption + (f"\n{accuracy}" if accuracy else ""), fontsize=8)
    return save_figure(fig, path, dpi=100)


def probe_caption(trunk_spec) -> str:
    if not isinstance(trunk_spec, (str, Path)) or not Path(trunk_spec).is_dir():
        return ""
    for result in sorted(Path(trunk_spec).glob("probe*.json")):
        taps = read_json(result).get("taps", {})
        if "conv1" in taps:
            return f"linear probe conv1 top-1 {taps['conv1']['top1']:.1f}% ({read_json(result).get('dataset', '')})"
    return ""
