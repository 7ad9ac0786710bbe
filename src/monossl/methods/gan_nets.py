"""Networks shared by the GAN methods: a DCGAN generator at any power-of-two size."""
from __future__ import annotations

import math

import torch.nn.functional as F
from torch import nn


class DCGANGenerator(nn.Module):
    """z -> Linear -> 4x4 x (dim * 2^(n-1)) -> n transposed convs (x2 each, BN + ReLU) -> tanh image.

    At 32x32 with dim=128 this is WGAN-GP's CIFAR generator (512 channels at 4x4, "DCGAN-512").
    Sizes that are not 4*2^n are produced at the next power of two and resized bilinearly.
    """

    def __init__(self, latent: int = 128, size: int = 32, dim: int = 128):
        super().__init__()
        self.size = size
        ups = max(1, math.ceil(math.log2(size / 4)))
        widths = [dim * 2 ** (ups - 1 - i) for i in range(ups)]  # e.g. 512, 256, 128 at 32x32 with dim=128
        widths = [dim * 2 ** (ups - 1)] + widths[1:] if ups > 1 else [dim]
        self.project = nn.Sequential(nn.Linear(latent, 4 * 4 * widths[0]), nn.BatchNorm1d(4 * 4 * widths[0]), nn.ReLU(True))
        layers = []
        for i in range(ups):
            last = i == ups - 1
            out = 3 if last else widths[i + 1]
            layers.append(nn.ConvTranspose2d(widths[i], out, 4, 2, 1))
            layers += [nn.Tanh()] if last else [nn.BatchNorm2d(out), nn.ReLU(True)]
        self.body = nn.Sequential(*layers)
        self.first = widths[0]

    def forward(self, z):
        x = self.body(self.project(z).view(len(z), self.first, 4, 4))
        if x.shape[-1] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=True)
        return x
