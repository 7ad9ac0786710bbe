"""Wide ResNets for 32-px inputs (Zagoruyko & Komodakis 2016), as trunks with named taps: the distillation
student of Asano & Saeed (2023) is WRN-16-4 (teacher WRN-40-4).

WRN-d-k: a 3x3 stem of 16 channels, then three groups of (d - 4) / 6 pre-activation basic blocks of widths 16k,
32k and 64k, the second and third starting with stride 2, and a final BatchNorm + ReLU. Taps: block1, block2
(each group's output) and block3 (after the final ReLU): 64x32x32, 128x16x16 and 256x8x8 for WRN-16-4.
"""
from __future__ import annotations

import torch
from torch import nn

from monossl.nets.trunk import Trunk


class Block(nn.Module):
    """Pre-activation basic block: BN-ReLU-conv3x3-BN-ReLU-conv3x3, plus the input (a 1x1 conv when the shape changes)."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.bn1, self.relu1 = nn.BatchNorm2d(cin), nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2, self.relu2 = nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = nn.Conv2d(cin, cout, 1, stride, bias=False) if (cin != cout or stride != 1) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(x))
        skip = x if self.shortcut is None else self.shortcut(out)
        return skip + self.conv2(self.relu2(self.bn2(self.conv1(out))))


class WideResNet(Trunk):
    input_size = 32

    def __init__(self, depth: int = 16, widen: int = 4):
        super().__init__()
        if (depth - 4) % 6:
            raise ValueError(f"WRN depth {depth}: must be 6n + 4")
        n = (depth - 4) // 6
        self.config = dict(depth=depth, widen=widen)
        widths = (16 * widen, 32 * widen, 64 * widen)
        layers: list[nn.Module] = [nn.Conv2d(3, 16, 3, 1, 1, bias=False)]
        cin = 16
        for g, (width, stride) in enumerate(zip(widths, (1, 2, 2))):
            layers.append(nn.Sequential(*[Block(cin if i == 0 else width, width, stride if i == 0 else 1) for i in range(n)]))
            cin = width
        layers += [nn.BatchNorm2d(cin), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.tap_index = {"block1": 1, "block2": 2, "block3": 5}
        self.out_channels = cin
        self.reset_parameters(0)
