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


def structure(weight: torch.Tensor, min_period: float = 4.0) -> dict[str, float]:
    """How structured conv1 filters are, as one number: the fraction of their energy at spatial periods
    of `min_period` pixels or more (edges, bars and colour blobs live there; speckle spreads evenly).

    For each filter, |DFT|^2 over its k x k taps (summed over input channels) is split at the radius
    1/min_period cycles per pixel; the score is the mean over filters of the low-band share. White
    noise (a random init) puts the same expected energy in every frequency bin, so its expected score
    is the share of bins in the low band (`random`, 9/49 = 0.18 for 7 x 7 kernels)."""
    w = weight.detach().double()
    k = w.shape[-1]
    freqs = torch.fft.fftfreq(k, dtype=torch.float64)
    radius = torch.sqrt(freqs[:, None] ** 2 + freqs[None, :] ** 2)
    low = radius <= 1.0 / min_period + 1e-12
    power = torch.fft.fft2(w).abs().square().sum(1)  # (out, k, k)
    share = (power * low).sum((1, 2)) / power.sum((1, 2)).clamp_min(1e-30)
    return {"structure": float(share.mean()), "random": float(low.double().mean()), "min_period": min_period}


def plot_filters(trunk_spec, path: str | Path, title: str | None = None, arch: str | None = None, seed: int = 0) -> dict:
    """Save the conv1 filters of a run/checkpoint (or a Trunk) as a PNG grid, captioned with their
    `structure` score (returned) and, when a probe result sits in the run folder (probe*.json), the
    linear probe's conv1 accuracy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from monossl.nets.registry import resolve_trunk

    trunk = resolve_trunk(trunk_spec, arch, seed=seed)[0]
    weight = first_conv(trunk).weight
    tiles = filter_tiles(weight)
    score = structure(weight)
    n = len(tiles)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.6, rows * 0.6 + 0.6))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, tile in zip(np.ravel(axes), tiles):
        ax.imshow((tile + 1) / 2, interpolation="nearest")
    caption = (title or "conv1 filters") + (f"\nstructure {score['structure']:.2f} (white noise {score['random']:.2f}): "
                                             f"energy share at periods >= {score['min_period']:.0f} px")
    accuracy = probe_caption(trunk_spec)
    fig.suptitle(caption + (f"\n{accuracy}" if accuracy else ""), fontsize=8)
    save_figure(fig, path, dpi=100)
    return score


def probe_caption(trunk_spec) -> str:
    if not isinstance(trunk_spec, (str, Path)) or not Path(trunk_spec).is_dir():
        return ""
    for result in sorted(Path(trunk_spec).glob("probe*.json")):
        taps = read_json(result).get("taps", {})
        if "conv1" in taps:
            return f"linear probe conv1 top-1 {taps['conv1']['top1']:.1f}% ({read_json(result).get('dataset', '')})"
    return ""


def filters_command(options) -> str:
    """`monossl viz filters TRUNK --out PNG`."""
    from monossl.viz.common import png_target, run_name

    out = png_target(options.out)
    score = plot_filters(options.trunk, out, title=f"conv1 filters: {run_name(options.trunk)}", arch=options.arch)
    return (f"conv1 structure {score['structure']:.3f} (white noise: {score['random']:.3f}; share of filter energy at "
            f"periods of {score['min_period']:.0f} px or more)\nwrote {out}")
