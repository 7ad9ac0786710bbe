"""Mixing the images of a batch: CutMix (Yun et al. 2019) and mixup (Zhang et al. 2018), drawn from torch's
global stream (which the engine seeds and checkpoints, so a resumed run draws the same boxes)."""
from __future__ import annotations

import math

import torch


def cutmix_box(height: int, width: int, lam: float, centre: tuple[int, int] | None = None) -> tuple[int, int, int, int]:
    """A box (top, bottom, left, right) of (1 - lam) of the image's area (sides rounded), centred at `centre` (else
    a uniform point) and clipped to the image, so near a border it is smaller (`cutmix` reports the share kept)."""
    cut = math.sqrt(1.0 - lam)
    h, w = round(height * cut), round(width * cut)
    cy, cx = centre if centre is not None else (int(torch.randint(height, ())), int(torch.randint(width, ())))
    top, bottom = max(cy - h // 2, 0), min(cy - h // 2 + h, height)
    left, right = max(cx - w // 2, 0), min(cx - w // 2 + w, width)
    return top, bottom, left, right


def cutmix(images: torch.Tensor, alpha: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Paste a box of each image's partner (a random permutation of the batch) into it, lam ~ Beta(alpha, alpha).
    Returns (mixed images, the partners' indices, the share of each image that is its own: 1 - box area / image
    area, the weight its label would carry).

    Shape: (B, C, H, W) -> (B, C, H, W), (B,), float."""
    lam = float(torch.distributions.Beta(alpha, alpha).sample())
    partner = torch.randperm(len(images), device=images.device)
    top, bottom, left, right = cutmix_box(images.shape[-2], images.shape[-1], lam)
    mixed = images.clone()
    mixed[..., top:bottom, left:right] = images[partner][..., top:bottom, left:right]
    own = 1.0 - (bottom - top) * (right - left) / (images.shape[-2] * images.shape[-1])
    return mixed, partner, own


def mixup(images: torch.Tensor, alpha: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, float]:
    """lam * image + (1 - lam) * partner, lam ~ Beta(alpha, alpha). Returns (mixed, partners, lam)."""
    lam = float(torch.distributions.Beta(alpha, alpha).sample())
    partner = torch.randperm(len(images), device=images.device)
    return torch.lerp(images[partner], images, lam), partner, lam
