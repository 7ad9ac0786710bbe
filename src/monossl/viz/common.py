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
