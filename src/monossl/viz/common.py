"""What the visualisations share: loading a frozen trunk and feeding it [0, 1] images."""
from __future__ import annotations

import torch

from monossl.nets.trunk import IMAGENET_MEAN, IMAGENET_STD, Trunk, absorb_batchnorm


def frozen_trunk(spec, arch: str | None = None, seed: int = 0) -> tuple[Trunk, str]:
    """A run folder, checkpoint, Trunk or baseline ('random', ...) -> an eval-mode trunk with BN absorbed, and its input norm."""
    from monossl.nets.registry import resolve_trunk

    trunk, _, meta = resolve_trunk(spec, arch, seed=seed)
    return absorb_batchnorm(trunk), meta.get("input_norm", "unit")


def to_input(image01: torch.Tensor, input_norm: str) -> torch.Tensor:
    """[0, 1] images -> the trunk's input range (differentiable)."""
    if input_norm == "imagenet":
        return (image01 - IMAGENET_MEAN.to(image01)) / IMAGENET_STD.to(image01)
    return image01 * 2 - 1


def png_target(path: str):
    """An output PNG path, refused when it names a folder."""
    from pathlib import Path

    from monossl.errors import UserError, opt

    out = Path(path)
    if out.is_dir():
        raise UserError(f"{out}: is a folder; {opt('out')} takes a .png file name")
    try:
        out.parent.resolve(strict=False)
    except (RuntimeError, OSError):
        raise UserError(f"{out}: its folder is a symbolic-link loop; choose a real path") from None
    return out


def run_name(spec) -> str:
    """A trunk's name for a figure title: a run folder's (or checkpoint's) own name, never a machine's path."""
    from pathlib import Path

    path = Path(str(spec))
    if path.name in ("trunk.pt", "classifier.pt"):
        path = path.parent
    return path.name or str(spec)
