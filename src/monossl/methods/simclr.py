"""SimCLR (Chen et al., 2020): contrastive learning of two views. Each patch of a batch is viewed twice (random-
resized crop, flip, colour jitter, grey), the trunk's globally pooled output goes through a projector MLP, and
NT-Xent asks each projection to find its partner view among the batch's 2B (temperature 0.5). SGD with momentum,
the rate decayed by a cosine to zero after an optional warm-up. The probes read the trunk's taps.
"""
from __future__ import annotations

import torch
from torch import nn

from monossl.data.views import views_of
from monossl.errors import OptionError
from monossl.losses.ntxent import nt_xent
from monossl.methods.hparams import SimCLR as Hparams
from monossl.nets.registry import build_trunk
from monossl.schedule import decayed_lr, set_lr


def check(config, hp: Hparams) -> None:
    if config.arch == "cifar" and config.input.size < 16:
        raise OptionError("size", config.input.size, "too small for two random-resized views; use 16 px or more")


class Embedding(nn.Module):
    """Trunk, global average pooling, and a projector MLP (Linear-BN-ReLU-Linear)."""

    def __init__(self, trunk: nn.Module, hidden: int, out: int):
        super().__init__()
        self.trunk = trunk
        width = trunk.out_channels
        self.projector = nn.Sequential(nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                                       nn.Linear(hidden, out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.trunk(x).mean((2, 3)))


def train(run, hp: Hparams) -> None:
    cfg = run.config
    trunk = build_trunk(cfg.arch, cfg.seed)
    model = Embedding(trunk, hp.proj_hidden, hp.proj_dim)
    optimiser = torch.optim.SGD(model.parameters(), lr=hp.lr, momentum=hp.momentum, weight_decay=hp.weight_decay)
    model, optimiser = run.fabric.setup(model, optimiser)
    view = views_of(hp, cfg.input.size)
    state = {"model": model, "optimiser": optimiser}
    start = run.restore(state)
    data = cfg.input.unlabelled(cfg.seed)
    loader = run.loader(data)
    total = cfg.epochs * len(loader)
    for epoch in range(start, cfg.epochs):
        data.set_epoch(epoch)
        model.train()
        for i, images in enumerate(run.epoch_batches(loader, epoch)):
            step = epoch * len(loader) + i
            set_lr(optimiser, decayed_lr(hp.lr, "cosine", step, total, round(hp.warmup * len(loader))))
            loss = nt_xent(model(view(images)), model(view(images)), hp.temperature)
            optimiser.zero_grad(set_to_none=True)
            run.fabric.backward(loss)
            optimiser.step()
            run.log_step(epoch, loss=loss.detach())
        run.end_epoch(epoch, state, trunk=trunk, loss=loss.detach(), lr=optimiser.param_groups[0]["lr"])
    run.finish(trunk)
