"""MonoGAN (§4.2): WGAN-GP (Gulrajani et al. 2017) whose critic is the CIFAR trunk, trained on patches.

Critic: the CIFAR trunk without BatchNorm (the gradient penalty is per sample) with LeakyReLU(0.2),
then one linear layer; the probes read its conv1..conv4. Generator: DCGAN at 32x32
(`DCGANGenerator`, 4*gen_dim channels at 4x4). Loss: WGAN-GP with lambda = 10 and 5 critic steps per
generator step; Adam, lr 1e-4, betas (0.5, 0.9), constant; `lr_decay="linear"` lowers both nets' rate
linearly to zero over the run, as the WGAN-GP authors' CIFAR ResNet recipe (`schedule.linear_lr`). The
critic starts from the trunk's init (DeepCluster's, as the random rows), with `critic_init="wgan-gp"`
from the WGAN-GP code's, or with `critic_init="smooth"` from DeepCluster's with conv1's filters drawn
spatially smooth (`nets.init.smooth_filters`; its random counterpart is the `random-critic-smooth`
baseline). Each epoch writes `samples_eNNN.png` (fixed noise) and logs the losses and the Wasserstein
estimate E[D(real)] - E[D(fake)].

One critic step scores real and fake images in one forward pass (the critic has no BatchNorm, so
each sample's score is the same as alone), and the generator step freezes the critic's weights
(their gradient there would be discarded): the same maths as the reference, in less time.
"""
from __future__ import annotations

import torch
from torch import nn

from monossl.errors import UserError, opt
from monossl.losses.wgan_gp import critic_loss, generator_loss, gradient_penalty
from monossl.methods.gan_nets import DCGANGenerator
from monossl.methods.hparams import MonoGAN as Hparams
from monossl.nets.registry import build_trunk
from monossl.seeding import init_generator
from monossl.schedule import linear_lr, set_lr
from monossl.viz.grid import save_grid


def check(config, hp: Hparams) -> None:
    if config.arch != "cifar" or config.input.size != 32:
        raise UserError(f"monogan: the critic is the CIFAR trunk at 32x32; use {opt('arch')} cifar {opt('size')} 32")


class Critic(nn.Module):
    """The CIFAR trunk (no BatchNorm, LeakyReLU) at the chosen init, and a single linear layer."""

    def __init__(self, init: str = "deepcluster", seed: int = 0):
        super().__init__()
        self.trunk = build_trunk("cifar", seed, batchnorm=False, act="leaky", init=init)
        self.linear = nn.Linear(self.trunk.out_channels * 3 * 3, 1)

    def forward(self, x):
        return self.linear(self.trunk(x).flatten(1)).squeeze(1)


def penalty_of(run, critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The gradient penalty, through the unwrapped critic under Fabric's autocast: Fabric's wrapper refuses
    the penalty's `autograd.grad` outside `fabric.backward` under mixed precision (`--precision bf16-mixed`);
    at 32-true this is the wrapped call's maths exactly."""
    module = critic.module
    dtype = next(module.parameters()).dtype  # the "-true" half precisions keep the weights in that dtype
    with run.fabric.autocast():
        return gradient_penalty(module, real.to(dtype), fake.to(dtype))


def train(run, hp: Hparams) -> None:
    cfg = run.config
    critic, generator = Critic(hp.critic_init, cfg.seed), DCGANGenerator(hp.latent, 32, hp.gen_dim, upsample=hp.upsample)
    opt_c = torch.optim.Adam(critic.parameters(), lr=hp.lr, betas=(hp.beta1, hp.beta2))
    opt_g = torch.optim.Adam(generator.parameters(), lr=hp.lr, betas=(hp.beta1, hp.beta2))
    critic, opt_c = run.fabric.setup(critic, opt_c)
    generator, opt_g = run.fabric.setup(generator, opt_g)
    fixed_noise = run.fabric.to_device(torch.randn(hp.samples, hp.latent, generator=init_generator(cfg.seed)))
    state = {"critic": critic, "generator": generator, "opt_c": opt_c, "opt_g": opt_g}
    start = run.restore(state)
    data = cfg.input.unlabelled(cfg.seed)
    loader = run.loader(data)
    total = cfg.epochs * len(loader)
    for epoch in range(start, cfg.epochs):
        data.set_epoch(epoch)
        critic.train()
        generator.train()
        for i, real in enumerate(run.epoch_batches(loader, epoch)):
            if hp.lr_decay == "linear":
                for opt in (opt_c, opt_g):
                    set_lr(opt, linear_lr(hp.lr, epoch * len(loader) + i, total))
            with torch.no_grad():
                fake = generator(torch.randn(len(real), hp.latent, device=real.device))
            d_real, d_fake = critic(torch.cat([real, fake])).split(len(real))
            penalty = penalty_of(run, critic, real, fake)
            loss_c = critic_loss(d_real, d_fake, penalty, hp.gp_lambda)
            opt_c.zero_grad(set_to_none=True)
            run.fabric.backward(loss_c)
            opt_c.step()
            values = {"loss_critic": loss_c.detach(), "wasserstein": (d_real - d_fake).mean().detach(), "gp": penalty.detach()}
            if (i + 1) % hp.critic_steps == 0:
                critic.requires_grad_(False)
                loss_g = generator_loss(critic(generator(torch.randn(len(real), hp.latent, device=real.device))))
                opt_g.zero_grad(set_to_none=True)
                run.fabric.backward(loss_g)
                opt_g.step()
                critic.requires_grad_(True)
                values["loss_generator"] = loss_g.detach()
            run.log_step(epoch, **values)
        generator.eval()
        with torch.no_grad():
            if run.fabric.is_global_zero:
                save_grid(generator(fixed_noise), run.out / f"samples_e{epoch + 1:03d}.png", scale=2)
        run.end_epoch(epoch, state, trunk=critic.module.trunk, wasserstein=values["wasserstein"], loss_critic=values["loss_critic"])
    run.finish(critic.module.trunk)
