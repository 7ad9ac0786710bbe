"""Networks shared by the GAN methods: a DCGAN generator at any power-of-two size."""
from __future__ import annotations

import math

import torch.nn.functional as F
from torch import nn



def upsampling(cin: int, cout: int, kind: str) -> list[nn.Module]:
    """x2 upsampling: DCGAN's 4x4 stride-2 transposed conv (`deconv`), or a resize then a 3x3 conv, which
    cannot draw checkerboard artifacts (Odena et al., "Deconvolution and Checkerboard Artifacts", 2016):
    nearest-neighbour (`resize`, their recommendation) or bilinear (`bilinear`, no 2x2 blocks either)."""
    if kind == "deconv":
        return [nn.ConvTranspose2d(cin, cout, 4, 2, 1)]
    mode = "nearest" if kind == "resize" else "bilinear"
    return [nn.Upsample(scale_factor=2, mode=mode, **({} if mode == "nearest" else {"align_corners": False})),
            nn.Conv2d(cin, cout, 3, 1, 1)]


class DCGANGenerator(nn.Module):
    """z -> Linear -> 4x4 x (dim * 2^(n-1)) -> n x2 upsamplings (BN + ReLU) -> tanh image.

    At 32x32 with dim=128 this is WGAN-GP's CIFAR generator (512 channels at 4x4, "DCGAN-512").
    Sizes that are not 4*2^n are produced at the next power of two and resized bilinearly.
    """

    def __init__(self, latent: int = 128, size: int = 32, dim: int = 128, upsample: str = "deconv"):
        super().__init__()
        self.size = size
        ups = max(1, math.ceil(math.log2(size / 4)))
        widths = [dim * 2 ** (ups - 1 - i) for i in range(ups)]  # e.g. 512, 256, 128 at 32x32 with dim=128
        self.project = nn.Sequential(nn.Linear(latent, 4 * 4 * widths[0]), nn.BatchNorm1d(4 * 4 * widths[0]), nn.ReLU(True))
        layers = []
        for i in range(ups):
            last = i == ups - 1
            out = 3 if last else widths[i + 1]
            layers += upsampling(widths[i], out, upsample)
            layers += [nn.Tanh()] if last else [nn.BatchNorm2d(out), nn.ReLU(True)]
        self.body = nn.Sequential(*layers)
        self.first = widths[0]

    def forward(self, z):
        x = self.body(self.project(z).view(len(z), self.first, 4, 4))
        if x.shape[-1] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=True)
        return x
