"""Top-9 retrieval (Fig. 5, right): for each unit, the dataset images that activate it most.

A unit's response to an image is its mean activation over positions (the same objective that
activation maximisation raises).
"""
from __future__ import annotations

import numpy as np
import torch

from monossl.nets.trunk import prepare_input
from monossl.seeding import rng
from monossl.viz.common import frozen_trunk


@torch.no_grad()
def unit_scores(trunk_spec, images: np.ndarray, layer: str, arch: str | None = None, batch_size: int = 500) -> np.ndarray:
    """(N, C): the mean activation of every unit of `layer` on uint8 NHWC images."""
    trunk, input_norm = frozen_trunk(trunk_spec, arch)
    trunk.check_taps([layer])
    out = []
    for start in range(0, len(images), batch_size):
        batch = torch.from_numpy(np.ascontiguousarray(images[start:start + batch_size])).permute(0, 3, 1, 2)
        out.append(trunk(prepare_input(batch, input_norm), [layer])[layer].mean(dim=(2, 3)))
    return torch.cat(out).numpy()


def top_images(scores: np.ndarray, units: list[int], k: int = 9) -> np.ndarray:
    """(len(units), k) indices of the images with the highest scores per unit, best first (ties: lower index)."""
    order = np.argsort(-scores[:, units], axis=0, kind="stable")
    return order[:k].T


def retrieval(trunk_spec, images: np.ndarray, layer: str, units: list[int] | None = None, k: int = 9,
              arch: str | None = None, seed: int = 0) -> tuple[np.ndarray, list[int]]:
    """Returns uint8 tiles (len(units) * k, H, W, 3) row by row, and the units shown."""
    scores = unit_scores(trunk_spec, images, layer, arch)
    if units is None:
        units = sorted(rng(seed, "units").choice(scores.shape[1], size=min(4, scores.shape[1]), replace=False).tolist())
    bad = [u for u in units if not 0 <= u < scores.shape[1]]
    if bad:
        from monossl.errors import OptionError

        raise OptionError("units", bad, f"{layer} has units 0..{scores.shape[1] - 1}")
    best = top_images(scores, units, k)
    return images[best.ravel()], units


def retrieval_images(dataset: str, data_root: str | None, trunk, arch: str | None):
    """The images to search: a CIFAR test split, or a folder's images at the trunk's input size."""
    from pathlib import Path

    from monossl.data.specs import DatasetSpec
    from monossl.errors import OptionError

    spec = DatasetSpec.parse(dataset, splits=1)
    if spec.kind != "folder":
        from monossl.data.cifar import load_cifar

        return load_cifar(dataset, data_root, train=False).images
    from monossl.data.folder import folder_images
    from monossl.data.sources import list_images
    from monossl.viz.common import frozen_trunk

    side = frozen_trunk(trunk, arch)[0].input_size  # the size the trunk was built for
    folder = spec.dirs[0]
    if not Path(folder).is_dir():
        raise OptionError("dataset", dataset, f"{folder} is not a folder; pass folder:DIR with images inside")
    return folder_images(list_images(Path(folder)), side, folder)


def retrieval_command(options) -> str:
    """`monossl viz retrieval TRUNK --layer L --out PNG`."""
    from monossl.viz.common import png_target, run_name
    from monossl.viz.figures import save_panels

    out = png_target(options.out)
    images = retrieval_images(options.dataset, options.data_root, options.trunk, options.arch)
    tiles, units = retrieval(options.trunk, images, options.layer, list(options.units) or None, arch=options.arch,
                             seed=options.seed)
    panels = [(f"{options.layer}:{units[i // 9]} #{i % 9 + 1}", tile) for i, tile in enumerate(tiles)]
    save_panels(panels, out, title=f"top-9 retrieval, {run_name(options.trunk)}", ncol=9, tile_inches=0.9)
    return f"wrote {out}"
