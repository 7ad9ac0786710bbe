"""The trunk interface: a `features` Sequential whose activations are tapped by name.

As in VISSL and RotNet (`out_feat_keys`), `trunk(x, taps=("conv1", "conv3"))` returns a dict of the
named activations and stops after the deepest one; `trunk(x)` returns the last tap.
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn

from monossl.nets.init import smooth_filters
from monossl.seeding import init_generator


class Trunk(nn.Module):
    """Base class. Subclasses fill `self.features` and `self.tap_index` (tap name -> index in features)."""

    features: nn.Sequential
    tap_index: dict[str, int]
    input_size: int
    smooth_passes = 1  # binomial blur passes of conv1 when config["init"] is "smooth" (nets.init.smooth_filters)

    @property
    def tap_names(self) -> list[str]:
        return list(self.tap_index)

    def check_taps(self, taps) -> list[str]:
        from monossl.errors import UserError

        taps = list(taps)
        unknown = [t for t in taps if t not in self.tap_index]
        if unknown or not taps:
            raise UserError(f"unknown tap(s) {','.join(unknown) or '(none)'}; this trunk has {','.join(self.tap_names)}")
        return taps

    def forward(self, x: torch.Tensor, taps=None):
        if taps is None:
            return self.features(x)
        taps = self.check_taps(taps)
        last = max(self.tap_index[t] for t in taps)
        wanted = {self.tap_index[t]: t for t in taps}
        out = {}
        for i, layer in enumerate(self.features[: last + 1]):
            x = layer(x)
            if i in wanted:
                out[wanted[i]] = x
        return out

    def tap_shapes(self, taps=None) -> dict[str, tuple[int, ...]]:
        """(C, H, W) of each tap for one input of the trunk's native size."""
        with torch.no_grad():
            was = self.training
            self.eval()
            out = self(torch.zeros(1, 3, self.input_size, self.input_size), taps or self.tap_names)
            self.train(was)
        return {k: tuple(v.shape[1:]) for k, v in out.items()}

    def reset_parameters(self, seed: int | None = None) -> "Trunk":
        """The "Random" baseline's init (DeepCluster's): conv weights ~ N(0, 2/(k*k*out)), zero bias,
        BatchNorm at identity. Seeded for reproducibility. A trunk whose `config["init"]` is "smooth" then has its conv1
        filters blurred (`smooth_passes` passes of `nets.init.smooth_filters`)."""
        gen = init_generator(seed)
        for m in self.modules():
            if isinstance(m, nn.Conv2d) and m.weight.requires_grad:
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                with torch.no_grad():
                    m.weight.normal_(0, math.sqrt(2.0 / fan_out), generator=gen)
                    if m.bias is not None:
                        m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.reset_parameters()
        config = getattr(self, "config", {})
        if config.get("init") == "smooth":
            smooth_filters(self.features[1 if config.get("sobel") else 0], self.smooth_passes)
        return self


def absorb_batchnorm(trunk: Trunk) -> Trunk:
    """A copy of the trunk in eval mode with every BatchNorm folded into the conv before it (§4.1).

    conv(x) = Wx + b followed by BN gives  (g / s) (Wx + b - mu) + beta,  s = sqrt(var + eps).
    """
    trunk = copy.deepcopy(trunk).eval()
    layers = list(trunk.features)
    for i, layer in enumerate(layers):
        if isinstance(layer, nn.BatchNorm2d) and i > 0 and isinstance(layers[i - 1], nn.Conv2d):
            conv = layers[i - 1]
            scale = layer.weight.detach() / torch.sqrt(layer.running_var + layer.eps)
            bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(layer.running_mean)
            fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                              conv.dilation, conv.groups, bias=True)
            with torch.no_grad():
                fused.weight.copy_(conv.weight * scale[:, None, None, None])
                fused.bias.copy_((bias - layer.running_mean) * scale + layer.bias.detach())
            trunk.features[i - 1] = fused
            trunk.features[i] = nn.Identity()
    return trunk.requires_grad_(False)


IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225])[:, None, None]


def prepare_input(images_uint8: torch.Tensor, input_norm: str = "unit") -> torch.Tensor:
    """uint8 (..., 3, H, W) -> float network input. "unit": (-1, 1) as §3.1 trains every monossl trunk;
    "imagenet": mean/std normalisation, as published torchvision-style AlexNets expect."""
    x = images_uint8.float()
    if input_norm == "imagenet":
        return (x / 255 - IMAGENET_MEAN) / IMAGENET_STD
    return x / 127.5 - 1


def activation(kind: str) -> nn.Module:
    if kind == "relu":
        return nn.ReLU(inplace=True)
    if kind == "leaky":
        return nn.LeakyReLU(0.2, inplace=True)
    raise ValueError(f"unknown activation {kind!r}; use relu or leaky")
