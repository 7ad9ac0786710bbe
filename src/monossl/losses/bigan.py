"""BiGAN (Donahue et al. 2017): the joint discriminator's loss and the encoder+generator loss."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def bigan_losses(d_real: torch.Tensor, d_fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Discriminator loss (real pairs (x, E(x)) -> 1, fake pairs (G(z), z) -> 0) and the
    encoder+generator loss with the labels swapped (the non-saturating form)."""
    ones, zeros = torch.ones_like(d_real), torch.zeros_like(d_fake)
    loss_d = F.binary_cross_entropy_with_logits(d_real, ones) + F.binary_cross_entropy_with_logits(d_fake, zeros)
    loss_eg = F.binary_cross_entropy_with_logits(d_real, zeros) + F.binary_cross_entropy_with_logits(d_fake, ones)
    return loss_d, loss_eg
