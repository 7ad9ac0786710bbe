"""Labelled PNG figures for the `viz` and `style` commands."""
from __future__ import annotations

import io
import textwrap
from pathlib import Path

import numpy as np

from monossl.rundir import atomic_write_bytes


def save_figure(fig, path: str | Path, dpi: int = 110) -> Path:
    """Render a matplotlib figure to PNG, stamped at its foot with what made it (`provenance.stamp`), and write it
    atomically; the figure is closed."""
    import matplotlib.pyplot as plt

    from monossl.provenance import stamp

    fig.text(0.995, 0.002, stamp(), ha="right", va="bottom", fontsize=4.5, color="0.45")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)


def save_panels(panels: list[tuple[str, np.ndarray]], path: str | Path, title: str = "", ncol: int | None = None,
                tile_inches: float = 1.6) -> Path:
    """Save images (H, W, 3 in [0, 1] or uint8) side by side, each with its label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(panels)
    ncol = ncol or n
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(ncol * tile_inches, nrow * tile_inches + (0.4 if title else 0)), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (label, image) in zip(axes.ravel(), panels):
        ax.imshow(image, interpolation="nearest" if image.shape[0] <= 64 else "bilinear")
        ax.set_title(label, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_depth(path: str | Path, taps: list[str], lines: list[dict], title: str,
               ylabel: str = "linear probe top-1 (%)") -> Path:
    """Accuracy against depth, the figure of the demo and of every reproduced table. Each line is a dict:
    `values` per tap, and optionally `label`, `colour` (an index into the colour cycle) and `dashed`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    if max((line.get("colour", 0) for line in lines), default=0) >= len(colours):  # more rows than the cycle: no repeats
        colours = [plt.get_cmap("tab20")(i) for i in [*range(0, 20, 2), *range(1, 20, 2)]]
    xs = list(range(len(taps)))
    for line in lines:
        ax.plot(xs, line["values"], "--" if line.get("dashed") else "-o", color=colours[line.get("colour", 0) % len(colours)],
                alpha=0.6 if line.get("dashed") else 1.0, label=line.get("label"))
    ax.set_xticks(xs, taps)
    ax.set_ylabel(ylabel)
    ax.set_title("\n".join(textwrap.fill(line, 90) for line in title.split("\n")), fontsize=9)
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)
