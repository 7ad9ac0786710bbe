"""MonoGAN (§4.2): WGAN-GP (Gulrajani et al. 2017) whose critic is the CIFAR trunk, trained on patches.

Critic: the CIFAR trunk without BatchNorm (the gradient penalty is per sample) with LeakyReLU(0.2),
then one linear layer; the probes read its conv1..conv4. Generator: DCGAN at 32x32
(`DCGANGenerator`, 4*gen_dim channels at 4x4). Loss: WGAN-GP with lambda = 10 and 5 critic steps per
generator step; Adam, lr 1e-4, betas (0.5, 0.9). Each epoch writes `samples_eNNN.png` (fixed noise)
and logs the losses and the Wasserstein estimate E[D(real)] - E[D(fake)].
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from monossl.methods.engine import Run
from monossl.methods.gan_nets import DCGANGenerator
from monossl.nets.registry import build_trunk
from monossl.viz.grid import save_grid


@dataclass
class Hparams:
    latent: int = 128
    gen_dim: int = 128  # 4*gen_dim channels at 4x4: 512, WGAN-GP's DCGAN generator
    critic_steps: int = 5
    gp_lambda: float = 10.0
    lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.9
    samples: int = 64


DEFAULT_BATCH = 64


class Critic(nn.Module):
    """The CIFAR trunk (no BatchNorm, LeakyReLU) and a single linear layer."""

    def __init__(self):
        super().__init__()
        self.trunk = build_trunk("cifar", batchnorm=False, act="leaky")
        self.linear = nn.Linear(self.trunk.out_channels * 3 * 3, 1)

    def forward(self, x):
        return self.linear(self.trunk(x).flatten(1)).squeeze(1)


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None):
    """E[(||grad_x D(x_hat)||_2 - 1)^2] at random interpolates x_hat; the norm runs over each
    sample's whole gradient (channels and pixels together), as in Gulrajani et al."""
    eps = torch.rand(len(real), 1, 1, 1, device=real.device, generator=generator)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    grad, = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def train(run: Run, hp: Hparams) -> None:
    cfg = run.config
    if cfg.arch != "cifar" or cfg.size != 32:
        from monossl.errors import UserError

        raise UserError("monogan: the critic is the CIFAR trunk at 32x32; use --arch cifar --size 32")
    critic, generator = Critic(), DCGANGenerator(hp.latent, 32, hp.gen_dim)
    opt_c = torch.optim.Adam(critic.parameters(), lr=hp.lr, betas=(hp.beta1, hp.beta2))
    opt_g = torch.optim.Adam(generator.parameters(), lr=hp.lr, betas=(hp.beta1, hp.beta2))
    critic, opt_c = run.fabric.setup(critic, opt_c)
    generator, opt_g = run.fabric.setup(generator, opt_g)
    fixed_noise = run.fabric.to_device(torch.randn(hp.samples, hp.latent, generator=torch.Generator().manual_seed(cfg.seed)))
    state = {"critic": critic, "generator": generator, "opt_c": opt_c, "opt_g": opt_g}
    start = run.restore(state)
    data = run.dataset()
    loader = run.loader(data)
    for epoch in range(start, cfg.epochs):
        critic.train()
        generator.train()
        for i, real in enumerate(run.epoch_batches(loader, data, epoch)):
            z = torch.randn(len(real), hp.latent, device=real.device)
            with torch.no_grad():
                fake = generator(z)
            d_real, d_fake = critic(real).mean(), critic(fake).mean()
            penalty = gradient_penalty(critic, real, fake)
            loss_c = d_fake - d_real + hp.gp_lambda * penalty
            opt_c.zero_grad(set_to_none=True)
            run.fabric.backward(loss_c)
            opt_c.step()
            values = {"loss_critic": loss_c.item(), "wasserstein": (d_real - d_fake).item(), "gp": penalty.item()}
            if (i + 1) % hp.critic_steps == 0:
                loss_g = -critic(generator(torch.randn(len(real), hp.latent, device=real.device))).mean()
                opt_g.zero_grad(set_to_none=True)
                run.fabric.backward(loss_g)
                opt_g.step()
                values["loss_generator"] = loss_g.item()
            run.log_step(epoch, **values)
        generator.eval()
        with torch.no_grad():
            if run.fabric.is_global_zero:
                save_grid(generator(fixed_noise), run.out / f"samples_e{epoch + 1:03d}.png", scale=2)
        run.end_epoch(epoch, state, trunk=critic.module.trunk, wasserstein=values["wasserstein"], loss_critic=values["loss_critic"])
    run.finish(critic.module.trunk)
