"""Per-view augmentation of a batch for the joint-embedding methods (SimCLR, DINO), with kornia: random-resized
crops, flips, colour jitter, grey, blur; each image of the batch draws its own parameters."""
from __future__ import annotations

import kornia.augmentation as K
import torch
from torch import nn


class ViewAugment(nn.Module):
    """(B, 3, S, S) in (-1, 1) -> (B, 3, side, side) in (-1, 1): one random view of each image."""

    def __init__(self, side: int, scale: tuple[float, float], jitter: float, jitter_prob: float, grayscale_prob: float,
                 blur_prob: float):
        super().__init__()
        steps = [K.RandomResizedCrop((side, side), scale=tuple(scale)), K.RandomHorizontalFlip()]
        if jitter and jitter_prob:
            steps.append(K.ColorJitter(jitter, jitter, jitter, jitter / 4, p=jitter_prob))
        if grayscale_prob:
            steps.append(K.RandomGrayscale(p=grayscale_prob))
        if blur_prob:
            k = max(3, (side // 10) | 1)
            steps.append(K.RandomGaussianBlur((k, k), (0.1, 2.0), p=blur_prob))
        self.steps = nn.Sequential(*steps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.steps((x + 1) / 2).clamp(0, 1) * 2 - 1


def views_of(hp, side: int, scale=None) -> ViewAugment:
    """A view augmentation from a method's `Views` options, at `side` pixels (and `scale`, else its crop scale)."""
    return ViewAugment(side, scale or hp.crop_scale, hp.jitter, hp.jitter_prob, hp.grayscale_prob, hp.blur_prob)
