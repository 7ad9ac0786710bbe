"""`monossl rank`: which single image should one train on? A score from the image's §3.1 patches,
computed in seconds, without training.

For each candidate, `count` patches are drawn with the paper's protocol at 32 px (the same sampler
training uses) and four statistics are measured on them:
  * `edges`: mean luminance gradient magnitude per pixel (how much local structure conv1 can fit);
  * `colour`: spread of chroma within and across patches (colour blobs and opponent filters need it);
  * `diversity`: mean distance between pairs of patches after removing each patch's mean and
    contrast (a texture repeated everywhere teaches less than many different ones);
  * `spectrum`: how close the patches' radially averaged power spectrum falls off to natural
    images' 1/f^2 (exp(-((slope + 2) / 2)^2)).
The score is `edges` alone; the other three are reported beside it. A flat image scores 0 and ranks last.
It is not a predictor of which photograph teaches most: docs/results/sources.md checks it against every trained
source (below Spearman 0.7 with the conv2 probe), and docs/research/sources.md holds the measurements behind the
choice, the held-out check included.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from monossl.errors import UserError
from monossl.rundir import write_json
from monossl.seeding import rng

FLOOR = 1e-6


def patch_statistics(patches: np.ndarray, seed: int = 0) -> dict[str, float]:
    """The four statistics of uint8 (N, S, S, 3) patches (see the module docstring)."""
    x = patches.astype(np.float64) / 255.0
    luma = x @ np.array([0.299, 0.587, 0.114])
    gy, gx = np.diff(luma, axis=1)[:, :, :-1], np.diff(luma, axis=2)[:, :-1, :]
    edges = float(np.sqrt(gx**2 + gy**2).mean())
    chroma = x - luma[..., None]
    colour = float(chroma.std(axis=(1, 2)).mean() + chroma.mean(axis=(1, 2)).std(axis=0).mean())
    flat = luma.reshape(len(luma), -1)
    flat = flat - flat.mean(1, keepdims=True)
    # contrast-normalised, but patches under 5% RMS contrast count as nearly flat (noise on a flat image is no texture)
    flat = flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 0.05 * math.sqrt(flat.shape[1]))
    pairs = rng(seed, "rank-pairs").integers(0, len(flat), (2048, 2))
    diversity = float(np.linalg.norm(flat[pairs[:, 0]] - flat[pairs[:, 1]], axis=1).mean())
    power = np.abs(np.fft.fft2(luma - luma.mean(axis=(1, 2), keepdims=True))) ** 2
    size = luma.shape[1]
    f = np.sqrt(np.fft.fftfreq(size)[:, None] ** 2 + np.fft.fftfreq(size)[None, :] ** 2)
    bands = np.geomspace(1.5 / size, 0.5, 8)
    which = np.digitize(f, bands)
    mean_power = power.mean(0)
    centres, levels = [], []
    for b in range(1, len(bands)):
        sel = which == b
        if sel.any() and mean_power[sel].mean() > 0:
            centres.append(np.log(f[sel].mean()))
            levels.append(np.log(mean_power[sel].mean()))
    slope = float(np.polyfit(centres, levels, 1)[0]) if len(centres) >= 3 else 0.0
    spectrum = math.exp(-(((slope + 2.0) / 2.0) ** 2)) if edges > FLOOR else 0.0
    return {"edges": edges, "colour": colour, "diversity": diversity, "spectral_slope": slope, "spectrum": spectrum}


def score(stats: dict[str, float]) -> float:
    """The rank score of one candidate's `patch_statistics`: its edge density (mean luminance gradient per pixel)."""
    return float(stats["edges"])


def rank_images(images: list[str], count: int = 512, seed: int = 0, out: str | Path | None = None) -> list[dict]:
    """Score every candidate and return them best first (written to `out` as JSON when given)."""
    from monossl.data.sampler import AugmentConfig, PatchSampler
    from monossl.data.specs import load_sources

    if not images:
        raise UserError("give at least one image to rank")
    if count < 16:
        raise UserError(f"--count {count}: use at least 16 patches")
    rows = []
    for spec in images:
        decoded, names = load_sources([spec], seed=seed)
        for image, name in zip(decoded, names):
            patches = PatchSampler([image], AugmentConfig(size=32), seed=seed).patches(np.arange(count))
            stats = patch_statistics(patches, seed)
            rows.append({"image": name, "score": score(stats), **stats})
    rows.sort(key=lambda r: -r["score"])
    if out:
        write_json(Path(out), {"protocol": {"count": count, "seed": seed, "size": 32}, "ranking": rows})
    return rows


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN when either side is constant."""
    from scipy.stats import rankdata

    rx, ry = rankdata(x), rankdata(y)
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def validate(candidates: dict[str, str], probed: dict[str, float], count: int = 512, seed: int = 0) -> dict:
    """Score each candidate source (name -> source spec) and correlate the scores with measured probe
    accuracies (name -> top-1): the check that `rank` predicts what training teaches."""
    names = [n for n in candidates if n in probed]
    scores = {n: rank_images([candidates[n]], count=count, seed=seed)[0]["score"] for n in names}
    x, y = [scores[n] for n in names], [probed[n] for n in names]
    rho = spearman(x, y) if len(names) >= 3 else float("nan")
    return {"spearman": rho, "p_value": permutation_p(x, y, rho), "n": len(names), "scores": scores,
            "probed": {n: probed[n] for n in names}}


def permutation_p(x: list[float], y: list[float], rho: float, exact_up_to: int = 9, draws: int = 20000) -> float:
    """One-sided p-value of a Spearman correlation at least `rho` when the pairing is random: exact over
    every permutation for up to `exact_up_to` items, else from `draws` seeded random permutations."""
    import itertools

    from scipy.stats import rankdata

    if not np.isfinite(rho):
        return float("nan")
    rx, ry = rankdata(x), rankdata(y)
    n = len(rx)
    perms = (np.array(list(itertools.permutations(range(n)))) if n <= exact_up_to
             else np.array([rng(i, "permutation").permutation(n) for i in range(draws)]))
    a = (rx - rx.mean()) / np.linalg.norm(rx - rx.mean())
    b = ry[perms] - ry.mean()
    rhos = (b @ a) / np.linalg.norm(b, axis=1)
    return float(np.mean(rhos >= rho - 1e-12))


def rank_command(options) -> str:
    """`monossl rank IMAGE...`: the candidates best first, as a Markdown table."""
    rows = rank_images(list(options.images), count=options.count, seed=options.seed, out=options.out)
    lines = ["| rank | image | score: edge density | colour | diversity | spectral slope |", "|---|---|---|---|---|---|"]
    lines += [f"| {i} | {r['image']} | {r['score']:.4f} | {r['colour']:.4f} | {r['diversity']:.3f} | "
              f"{r['spectral_slope']:.2f} |" for i, r in enumerate(rows, 1)]
    return "\n".join(lines)
