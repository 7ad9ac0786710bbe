"""Baseline initialisations: the paper's "Random" and "Random Rescaled" (Krähenbühl et al. 2016) rows."""
from __future__ import annotations

import torch
from torch import nn

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
