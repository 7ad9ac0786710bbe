"""Synthetic source images: learning from no image at all.

A source spec `synthetic:KIND` or `synthetic:KIND:N` (N distinct images, default 1) renders images
at Image A's resolution (2560 x 1920) that then go through the same §3.1 protocol as a photograph.
Image j of a kind is a pure function of (seed, kind, j). Kinds and their generative parameters:

* `deadleaves`: the dead-leaves model as in Baradad et al., "Learning to See by Looking at Noise"
  (NeurIPS 2021): opaque discs with uniformly random RGB colours, radii from a power law
  p(r) ~ r^-3 on [8, 600] px (scale invariance), dropped at uniform positions and stacked so that
  later discs occlude earlier ones, 12,000 discs (about 98% coverage) on a random background colour.
* `fractal`: an iterated function system as in Kataoka et al., "Pre-training without Natural Images"
  (FractalDB, ACCV 2020): 2-8 random affine maps with entries U(-1, 1), each rescaled to be a
  contraction and chosen with probability proportional to |det|; a system is redrawn until its
  attractor fills at least 8% of a 64 x 64 raster (FractalDB's filling-rate filter). Rendered by the
  chaos game (4,096 chains x 320 steps), each point coloured by its map from a random palette, on black.
* `noise`: coloured Gaussian noise with a 1/f^alpha amplitude spectrum, alpha ~ U(1, 2.5) (alpha = 2
  is the falloff of natural images), channels mixed by a random 3 x 3 colour matrix, then scaled to
  0..255 between its 0.5th and 99.5th percentiles.
Rendering one image takes a fraction of a second on one core.
"""
from __future__ import annotations

import numpy as np

from monossl.errors import UserError
from monossl.seeding import rng

KINDS = ("deadleaves", "fractal", "noise")
HEIGHT, WIDTH = 1920, 2560


def render(kind: str, index: int = 0, seed: int = 0, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """Image `index` of `kind` for `seed`: uint8 (height, width, 3)."""
    if kind not in KINDS:
        raise UserError(f"synthetic:{kind}: choose one of {', '.join(KINDS)}")
    draw = rng(seed, "synthetic", kind, index)
    return {"deadleaves": dead_leaves, "fractal": fractal, "noise": coloured_noise}[kind](draw, height, width)


def dead_leaves(draw: np.random.Generator, height: int, width: int, discs: int = 12000,
                r_min: float = 8.0, r_max: float = 600.0) -> np.ndarray:
    image = np.empty((height, width, 3), np.uint8)
    image[:] = draw.integers(0, 256, 3, dtype=np.uint8)
    # inverse-CDF draws from p(r) ~ r^-3 on [r_min, r_max]
    u = draw.random(discs)
    radii = (r_min ** -2 - u * (r_min ** -2 - r_max ** -2)) ** -0.5
    ys, xs = draw.random(discs) * height, draw.random(discs) * width
    colours = draw.integers(0, 256, (discs, 3), dtype=np.uint8)
    for r, cy, cx, colour in zip(radii, ys, xs, colours):
        y0, y1 = max(0, int(cy - r)), min(height, int(cy + r) + 1)
        x0, x1 = max(0, int(cx - r)), min(width, int(cx + r) + 1)
        if y0 >= y1 or x0 >= x1:
            continue
        yy = (np.arange(y0, y1) - cy)[:, None] ** 2
        xx = (np.arange(x0, x1) - cx)[None, :] ** 2
        image[y0:y1, x0:x1][yy + xx <= r * r] = colour
    return image


def ifs_system(draw: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random contractive IFS: matrices (k, 2, 2), offsets (k, 2), map probabilities (k,)."""
    k = int(draw.integers(2, 9))
    a = draw.uniform(-1, 1, (k, 2, 2))
    norms = np.linalg.norm(a, ord=2, axis=(1, 2))
    a = a / np.maximum(norms / 0.9, 1.0)[:, None, None]  # every map a contraction
    b = draw.uniform(-1, 1, (k, 2))
    p = np.abs(np.linalg.det(a)) + 1e-3
    return a, b, p / p.sum()


def chaos_game(draw: np.random.Generator, a, b, p, chains: int, steps: int, burn: int = 20):
    """Points of the attractor from `chains` parallel chaos games, and the map that placed each one."""
    x, y = draw.uniform(-1, 1, chains), draw.uniform(-1, 1, chains)
    which = np.searchsorted(np.cumsum(p), draw.random((steps, chains)) * np.cumsum(p)[-1]).clip(0, len(p) - 1)
    a00, a01, a10, a11, b0, b1 = a[:, 0, 0], a[:, 0, 1], a[:, 1, 0], a[:, 1, 1], b[:, 0], b[:, 1]
    xs, ys = np.empty((steps - burn, chains)), np.empty((steps - burn, chains))
    for step in range(steps):
        m = which[step]
        x, y = a00[m] * x + a01[m] * y + b0[m], a10[m] * x + a11[m] * y + b1[m]
        if step >= burn:
            xs[step - burn], ys[step - burn] = x, y
    return np.stack([xs.ravel(), ys.ravel()], 1), which[burn:].ravel()


def fill_rate(points: np.ndarray, side: int = 64) -> float:
    lo, hi = points.min(0), points.max(0)
    cells = np.floor((points - lo) / np.maximum(hi - lo, 1e-9) * (side - 1)).astype(int)
    return len(np.unique(cells[:, 0] * side + cells[:, 1])) / side**2


def fractal(draw: np.random.Generator, height: int, width: int, min_fill: float = 0.08) -> np.ndarray:
    for _ in range(200):
        a, b, p = ifs_system(draw)
        probe, _ = chaos_game(draw, a, b, p, 256, 60)
        if np.isfinite(probe).all() and fill_rate(probe) >= min_fill:
            break
    points, maps = chaos_game(draw, a, b, p, 4096, 320)
    palette = draw.integers(40, 256, (len(p), 3))
    lo, hi = points.min(0), points.max(0)
    span = np.maximum(hi - lo, 1e-9)
    scale = 0.9 * min(width / span[0], height / span[1])
    px = ((points[:, 0] - (lo[0] + hi[0]) / 2) * scale + width / 2).astype(np.int64).clip(0, width - 1)
    py = ((points[:, 1] - (lo[1] + hi[1]) / 2) * scale + height / 2).astype(np.int64).clip(0, height - 1)
    flat = py * width + px
    image = np.zeros((height * width, 3), np.float32)
    counts = np.bincount(flat, minlength=height * width).astype(np.float32)
    for c in range(3):
        image[:, c] = np.bincount(flat, weights=palette[maps, c], minlength=height * width)
    image /= np.maximum(counts, 1)[:, None]
    image = image.reshape(height, width, 3).clip(0, 255).astype(np.uint8)
    # points are sparse at this size: a separable 3 x 3 max spreads each into a visible dot
    return spread(spread(image).swapaxes(0, 1)).swapaxes(0, 1)


def spread(image: np.ndarray) -> np.ndarray:
    """Maximum over each pixel and its neighbours along the first axis."""
    out = image.copy()
    np.maximum(out[1:], image[:-1], out=out[1:])
    np.maximum(out[:-1], image[1:], out=out[:-1])
    return out


def coloured_noise(draw: np.random.Generator, height: int, width: int) -> np.ndarray:
    import torch

    alpha = draw.uniform(1.0, 2.5)
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    f = np.sqrt(fx**2 + fy**2)
    f[0, 0] = 1.0 / max(height, width)
    amplitude = torch.from_numpy((f ** -alpha).astype(np.float32))
    spectrum = torch.complex(torch.from_numpy(draw.standard_normal((3, *f.shape), dtype=np.float32)),
                             torch.from_numpy(draw.standard_normal((3, *f.shape), dtype=np.float32))) * amplitude
    field = torch.fft.irfft2(spectrum, s=(height, width)).numpy()  # (3, H, W)
    mixed = np.einsum("ij,jhw->hwi", draw.uniform(-1, 1, (3, 3)).astype(np.float32), field)
    lo, hi = np.percentile(mixed[::8, ::8], [0.5, 99.5], axis=(0, 1))
    return ((mixed - lo) / np.maximum(hi - lo, 1e-9) * 255).clip(0, 255).astype(np.uint8)
