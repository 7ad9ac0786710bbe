"""BiGAN (Donahue et al. 2017): an encoder E learns to invert a generator G under a joint discriminator D(x, z).

E is the trunk with LeakyReLU(0.2) (the CIFAR trunk at 32 px, AlexNet at larger sizes) and a linear
map to the latent; z ~ U(-1, 1)^200; G is a DCGAN generator; D scores (x, z) pairs from a conv
branch on x and an MLP on z. Adam, lr 2e-4, beta1 0.5. Native augmentation: random crops and flips
(the paper trains at S = 128; S is a parameter). D, E and G update together from one forward, as
one loss with one backward (`joint_loss`), so DDP and mixed precision apply. The checkpoint holds E's
trunk, which the probes read. Each epoch writes samples G(z) and reconstructions G(E(x)).
"""
from __future__ import annotations

import torch
from torch import nn

from monossl.errors import OptionError, opt
from monossl.losses.bigan import bigan_losses
from monossl.methods.classifier import crop_size, native_augmentation
from monossl.nets.classifier import feature_dim
from monossl.methods.gan_nets import DCGANGenerator
from monossl.methods.hparams import BiGAN as Hparams
from monossl.nets.registry import build_trunk
from monossl.seeding import init_generator
from monossl.viz.grid import save_grid


class Encoder(nn.Module):
    def __init__(self, arch: str, crop: int, latent: int, seed: int = 0):
        super().__init__()
        self.trunk = build_trunk(arch, seed, act="leaky")
        self.linear = nn.Linear(feature_dim(self.trunk, crop), latent)

    def forward(self, x):
        return self.linear(self.trunk(x).flatten(1))


class JointDiscriminator(nn.Module):
    """D(x, z): strided convs on x, an MLP on z, and a joint MLP on both (with dropout, as BiGAN's)."""

    def __init__(self, crop: int, latent: int, dim: int):
        super().__init__()
        layers, ch, side = [], 3, crop
        while side > 4:
            layers += [nn.Conv2d(ch, dim, 4, 2, 1), nn.LeakyReLU(0.2, True), nn.Dropout(0.2)]
            ch, side, dim = dim, side // 2, min(dim * 2, 512)  # k4 s2 p1 halves, rounding down
        self.x_branch = nn.Sequential(*layers, nn.Flatten())
        self.z_branch = nn.Sequential(nn.Linear(latent, 512), nn.LeakyReLU(0.2, True), nn.Dropout(0.2))
        self.joint = nn.Sequential(nn.Linear(ch * side * side + 512, 1024), nn.LeakyReLU(0.2, True), nn.Dropout(0.2),
                                   nn.Linear(1024, 1))

    def forward(self, x, z):
        return self.joint(torch.cat([self.x_branch(x), self.z_branch(z)], 1)).squeeze(1)


class BiGAN(nn.Module):
    def __init__(self, arch: str, crop: int, hp: Hparams, seed: int = 0):
        super().__init__()
        self.encoder = Encoder(arch, crop, hp.latent, seed)
        self.generator = DCGANGenerator(hp.latent, crop, hp.gen_dim)
        self.discriminator = JointDiscriminator(crop, hp.latent, hp.disc_dim)


def check(config, hp: Hparams) -> None:
    if crop_size(config.arch, config.input.size) < 8:
        raise OptionError("size", config.input.size, f"too small for the discriminator; use {opt('size')} 32 or more")


def joint_loss(encoder, generator, discriminator, frozen_discriminator, real, z) -> tuple[torch.Tensor, ...]:
    """BiGAN's simultaneous update as one loss: its backward gives D the gradient of D's loss alone and E, G
    that of the swapped-label loss alone, so one `fabric.backward` serves all three nets (DDP reduces it once,
    a grad scaler scales it once). D scores detached pairs; E and G are scored by `frozen_discriminator` (the
    same weights, taking no gradient), which replays the first call's dropout masks. Returns (sum, D's loss,
    E and G's loss)."""
    n, x, code = len(real), torch.cat([real, generator(z)]), torch.cat([encoder(real), z])
    devices = [real.device.index] if real.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):  # the RNG is restored on exit: the frozen pass draws the same masks
        loss_d, _ = bigan_losses(*discriminator(x.detach(), code.detach()).split(n))
    _, loss_eg = bigan_losses(*frozen_discriminator(x, code).split(n))
    return loss_d + loss_eg, loss_d, loss_eg


def frozen(run, module: nn.Module):
    """`module` with its weights taking no gradient, called unwrapped under Fabric's autocast (as the wrapped
    call would run, inputs cast to the weights' dtype for the "-true" half precisions)."""
    def call(*inputs):
        dtype = next(module.parameters()).dtype
        module.requires_grad_(False)
        try:
            with run.fabric.autocast():
                return module(*(t.to(dtype) for t in inputs)).float()
        finally:
            module.requires_grad_(True)
    return call


def train(run, hp: Hparams) -> None:
    cfg = run.config
    crop = crop_size(cfg.arch, cfg.input.size)
    net = BiGAN(cfg.arch, crop, hp, cfg.seed)
    betas = (hp.beta1, hp.beta2)
    # one Adam over two groups is two Adams stepped together (Adam's state is per parameter): one step, one scaler update
    opt = torch.optim.Adam([{"params": net.discriminator.parameters()},
                            {"params": [*net.encoder.parameters(), *net.generator.parameters()]}], lr=hp.lr, betas=betas)
    encoder, generator, discriminator = (run.fabric.setup_module(m) for m in (net.encoder, net.generator, net.discriminator))
    opt = run.fabric.setup_optimizers(opt)
    augment = native_augmentation(cfg.arch, cfg.input.size)
    noise = lambda n, g=None: torch.rand(n, hp.latent, generator=g) * 2 - 1  # noqa: E731
    fixed_z = run.fabric.to_device(noise(hp.samples, init_generator(cfg.seed)))
    state = {"net": net, "opt": opt}
    start = run.restore(state)
    frozen_discriminator = frozen(run, net.discriminator)
    data = cfg.input.unlabelled(cfg.seed)
    loader = run.loader(data)
    for epoch in range(start, cfg.epochs):
        data.set_epoch(epoch)
        net.train()
        for real in run.epoch_batches(loader, epoch):
            real = augment(real)
            loss, loss_d, loss_eg = joint_loss(encoder, generator, discriminator, frozen_discriminator, real,
                                               run.fabric.to_device(noise(len(real))))
            opt.zero_grad(set_to_none=True)
            run.fabric.backward(loss)
            opt.step()
            run.log_step(epoch, loss_d=loss_d.detach(), loss_eg=loss_eg.detach())
        net.eval()
        with torch.no_grad():  # every rank runs the nets (a DDP forward syncs BatchNorm buffers); rank 0 writes
            shown = real[: hp.samples // 2]
            samples, reconstructions = generator(fixed_z), generator(encoder(shown))
            if run.fabric.is_global_zero:
                save_grid(samples, run.out / f"samples_e{epoch + 1:03d}.png", scale=2)
                save_grid(torch.cat([shown, reconstructions]), run.out / f"reconstructions_e{epoch + 1:03d}.png",
                          ncol=len(shown), scale=2)
        run.end_epoch(epoch, state, trunk=net.encoder.trunk, loss_d=loss_d.detach(), loss_eg=loss_eg.detach())
    run.finish(net.encoder.trunk)
