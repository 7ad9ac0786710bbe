"""The CIFAR trunk of §4.2: four convs with kernels 7, 5, 3, 3 and strides 3, 2, 2, 1.

Widths are AlexNet-like, 96-256-384-384, with paddings 3, 2, 1, 1. On 32x32 inputs the taps are
conv1 96x11x11, conv2 256x6x6, conv3 384x3x3 and conv4 384x3x3 (no pooling: §4.1 probes CIFAR at
full resolution). Every CIFAR row of Tables 1, 3 and 4 uses this trunk, whatever the method.
`sobel=True` puts DeepCluster's frozen Sobel filter in front (its random counterpart is the
`random-sobel` baseline). `batchnorm=False` and `act="leaky"` give the WGAN-GP critic's body (the
penalty is per sample, so no BatchNorm). `init="smooth"` draws conv1's filters from a spatially smooth
Gaussian (`nets.init.smooth_filters`) on top of DeepCluster's init, `init="wgan-gp"` the WGAN-GP code's
uniform init (`nets.init.wgan_gp_init`); every re-draw (`reset_parameters`) keeps the init, so a baseline
drawn with a seed matches the run that started from it.
"""
from __future__ import annotations

from torch import nn

from monossl.errors import UserError
from monossl.nets.alexnet import Sobel
from monossl.nets.init import wgan_gp_init
from monossl.nets.trunk import Trunk, activation

KERNELS = (7, 5, 3, 3)
STRIDES = (3, 2, 2, 1)
PADDINGS = (3, 2, 1, 1)
INITS = ("deepcluster", "smooth", "wgan-gp")


class CifarTrunk(Trunk):
    input_size = 32

    def __init__(self, widths=(96, 256, 384, 384), batchnorm: bool = True, act: str = "relu", sobel: bool = False,
                 init: str = "deepcluster"):
        super().__init__()
        if init not in INITS:
            raise UserError(f"init {init!r}: choose {', '.join(INITS)}")
        self.config = dict(widths=list(widths), batchnorm=batchnorm, act=act, sobel=sobel, init=init)
        layers, self.tap_index = ([Sobel()] if sobel else []), {}
        prev = 2 if sobel else 3
        for i, (width, k, s, p) in enumerate(zip(widths, KERNELS, STRIDES, PADDINGS)):
            layers.append(nn.Conv2d(prev, width, k, s, p))
            if batchnorm:
                layers.append(nn.BatchNorm2d(width))
            layers.append(activation(act))
            self.tap_index[f"conv{i + 1}"] = len(layers) - 1
            prev = width
        self.features = nn.Sequential(*layers)
        self.out_channels = prev
        self.reset_parameters(0)

    def reset_parameters(self, seed: int | None = None) -> "CifarTrunk":
        super().reset_parameters(seed)  # draws conv1 smooth for init="smooth"
        if self.config["init"] == "wgan-gp":
            wgan_gp_init(self, seed or 0)
        return self
