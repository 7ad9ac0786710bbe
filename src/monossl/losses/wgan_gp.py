"""WGAN-GP (Gulrajani et al. 2017): the critic and generator losses and the gradient penalty."""
from __future__ import annotations

import torch
from torch import nn


def critic_loss(d_real: torch.Tensor, d_fake: torch.Tensor, penalty: torch.Tensor, gp_lambda: float) -> torch.Tensor:
    """E[D(fake)] - E[D(real)] + lambda * GP: the negated Wasserstein estimate, plus the penalty."""
    return d_fake.mean() - d_real.mean() + gp_lambda * penalty


def generator_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """-E[D(G(z))]."""
    return -d_fake.mean()


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None,
                     eps: torch.Tensor | None = None) -> torch.Tensor:
    """E[(||grad_x D(x_hat)||_2 - 1)^2] at random interpolates x_hat = eps real + (1 - eps) fake,
    eps ~ U(0, 1) per sample; the norm runs over each sample's whole gradient (channels and pixels)."""
    if eps is None:
        eps = torch.rand(len(real), 1, 1, 1, device=real.device, generator=generator)
    mixed = torch.lerp(fake, real, eps).requires_grad_(True)
    grad, = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).square().mean()
