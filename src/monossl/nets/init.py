"""Initialisations: the paper's "Random" and "Random Rescaled" (Krähenbühl et al. 2016) rows, the
WGAN-GP authors' conv init, and smooth first-layer filters (options of MonoGAN's critic)."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

from monossl.seeding import init_generator

if TYPE_CHECKING:
    from monossl.nets.trunk import Trunk


@torch.no_grad()
def kraehenbuehl_init(trunk: Trunk, images: torch.Tensor, bias: float = 0.0, batch_size: int = 256) -> Trunk:
    """Data-dependent init, within-layer: layer by layer, rescale every conv channel so that its
    pre-activation over `images` has unit variance, and set its bias so the mean equals `bias`.

    BatchNorm layers are left at identity (fresh statistics, unit weight), so the rescaling holds in
    eval mode. Krähenbühl et al.'s between-layer gradient equalisation is not applied.
    """
    trunk.eval()
    layers = list(trunk.features)
    x = images
    for layer in layers:
        if isinstance(layer, nn.Conv2d) and layer.weight.requires_grad:
            out = torch.cat([layer(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
            mean, std = out.mean(dim=(0, 2, 3)), out.std(dim=(0, 2, 3)).clamp_min(1e-8)
            layer.weight.div_(std[:, None, None, None])
            if layer.bias is None:
                layer.bias = nn.Parameter(torch.zeros_like(mean))
            layer.bias.copy_((layer.bias - mean) / std + bias)
        x = torch.cat([layer(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
    return trunk


@torch.no_grad()
def wgan_gp_init(trunk: nn.Module, seed: int = 0) -> nn.Module:
    """The WGAN-GP reference code's conv init (its `he_init`): weights ~ U(-a, a) with standard deviation
    sqrt(4 / (fan_in + fan_out)), fan_in = in * k^2 and fan_out = out * k^2 / stride^2; zero biases."""
    gen = init_generator(seed)
    for m in trunk.modules():
        if isinstance(m, nn.Conv2d) and m.weight.requires_grad:
            k = m.kernel_size[0] * m.kernel_size[1]
            std = math.sqrt(4.0 / (m.in_channels * k + m.out_channels * k / (m.stride[0] * m.stride[1])))
            m.weight.uniform_(-std * math.sqrt(3), std * math.sqrt(3), generator=gen)
            if m.bias is not None:
                m.bias.zero_()
    return trunk


BINOMIAL = torch.tensor([1.0, 2.0, 1.0])


@torch.no_grad()
def smooth_filters(conv: nn.Conv2d, passes: int = 1) -> nn.Conv2d:
    """Redraw a conv's filters from a spatially smooth Gaussian, the covariance-structured init of Trockman
    et al. ("Understanding the Covariance Structure of Convolutional Filters", ICLR 2023): each filter as
    drawn (white noise) is blurred `passes` times by the binomial kernel [1, 2, 1] x [1, 2, 1] / 16, whose
    response is zero at the Nyquist frequency, and rescaled to its norm as drawn, so the layer's output
    scale is the init's and only its spectrum moves (the structure score of 7x7 white noise, 0.18, becomes
    0.69 for the critic's conv1). Biases are untouched."""
    kernel = (BINOMIAL[:, None] * BINOMIAL[None]) / 16
    w = conv.weight
    k = w.shape[-1]
    norms = w.flatten(1).norm(dim=1)
    blurred = w.reshape(-1, 1, k, k)
    for _ in range(passes):
        blurred = torch.nn.functional.conv2d(blurred, kernel.to(w)[None, None], padding=1)
    blurred = blurred.reshape_as(w)
    w.copy_(blurred * (norms / blurred.flatten(1).norm(dim=1).clamp_min(1e-30))[:, None, None, None])
    return conv
