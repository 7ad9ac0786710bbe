"""AlexNet with BatchNorm for 224-px inputs, in the layout of DeepCluster's `features` Sequential.

Widths: 'big' 96-256-384-384-256 (DeepCluster, linear-probes) and 'small' 64-192-384-256-256 (RotNet).
Taps conv1..conv5 sit after each ReLU, before pooling. Options: a frozen Sobel front end
(grayscale then horizontal/vertical Sobel, as DeepCluster), LeakyReLU(0.2) (BiGAN's encoder), and `init="smooth"`:
DeepCluster's init with conv1's 11x11 filters drawn spatially smooth (`nets.init.smooth_filters`, `smooth_passes`
passes; the Table 2 `cpu` stand-in's RotNet, docs/research/table2.md).
"""
from __future__ import annotations

import torch
from torch import nn

from monossl.errors import UserError
from monossl.nets.trunk import Trunk, activation

INITS = ("deepcluster", "smooth")
WIDTHS = {"big": (96, 256, 384, 384, 256), "small": (64, 192, 384, 256, 256)}


class Sobel(nn.Module):
    """Frozen grayscale + Sobel filters: 3 channels in, 2 gradient channels out."""

    def __init__(self):
        super().__init__()
        gray = nn.Conv2d(3, 1, 1)
        gray.weight.data.fill_(1.0 / 3.0)
        gray.bias.data.zero_()
        sobel = nn.Conv2d(1, 2, 3, padding=1)
        sobel.weight.data[0, 0] = torch.tensor([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])
        sobel.weight.data[1, 0] = torch.tensor([[1.0, 2, 1], [0, 0, 0], [-1, -2, -1]])
        sobel.bias.data.zero_()
        self.filters = nn.Sequential(gray, sobel).requires_grad_(False)

    def forward(self, x):
        return self.filters(x)


class AlexNet(Trunk):
    input_size = 224
    smooth_passes = 2  # for 11x11 filters (the CIFAR trunk's 7x7 conv1 takes one); four gave the same probes

    def __init__(self, width: str = "big", batchnorm: bool = True, act: str = "relu", sobel: bool = False,
                 init: str = "deepcluster"):
        super().__init__()
        if init not in INITS:
            raise UserError(f"init {init!r}: choose {', '.join(INITS)}")
        self.config = dict(width=width, batchnorm=batchnorm, act=act, sobel=sobel, init=init)
        c1, c2, c3, c4, c5 = WIDTHS[width]
        spec = [(c1, 11, 4, 2, True), (c2, 5, 1, 2, True), (c3, 3, 1, 1, False), (c4, 3, 1, 1, False), (c5, 3, 1, 1, True)]
        layers, self.tap_index = [], {}
        prev = 2 if sobel else 3
        if sobel:
            layers.append(Sobel())
        for i, (width_i, k, s, p, pool) in enumerate(spec):
            layers.append(nn.Conv2d(prev, width_i, k, s, p))
            if batchnorm:
                layers.append(nn.BatchNorm2d(width_i))
            layers.append(activation(act))
            self.tap_index[f"conv{i + 1}"] = len(layers) - 1
            if pool:
                layers.append(nn.MaxPool2d(3, 2))
            prev = width_i
        self.features = nn.Sequential(*layers)
        self.out_channels = prev
        self.reset_parameters(0)
