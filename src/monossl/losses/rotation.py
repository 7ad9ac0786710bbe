"""RotNet's objective (Gidaris et al. 2018): 4-way classification of 0/90/180/270-degree rotations."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def rotate_batch(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C, H, W) -> (4B, C, H, W) with every image in 0/90/180/270 degrees (built once, in one
    buffer), and labels 0..3 (label k: rotated by k x 90 degrees counter-clockwise)."""
    out = torch.empty((4, *x.shape), dtype=x.dtype, device=x.device)
    out[0] = x
    out[1] = x.transpose(2, 3).flip(2)
    out[2] = x.flip(2).flip(3)
    out[3] = x.transpose(2, 3).flip(3)
    labels = torch.arange(4, device=x.device).repeat_interleave(len(x))
    return out.flatten(0, 1), labels


def rotation_loss(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cross-entropy over all 4B rotated views, and the rotation accuracy (a tensor)."""
    return F.cross_entropy(logits, labels), (logits.detach().argmax(1) == labels).float().mean()
