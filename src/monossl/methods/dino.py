"""DINO (Caron et al., 2021): self-distillation with no labels. A student (trunk + DINO head: an MLP, an L2-
normalised bottleneck and a weight-normalised last layer) and a teacher of the same shape, the teacher an
exponential moving average of the student (momentum 0.996 raised to 1 by a cosine over the run). Each patch is
viewed twice globally (crop scale 0.4-1) and `local_crops` times locally (scale 0.05-0.4, at 96/224 of the side);
the teacher sees the global views, the student all of them, and learns to match the teacher's centred (centre
momentum 0.9), sharpened (T = 0.04) distribution with its own (T = 0.1) on every other view. AdamW, the rate
decayed by a cosine after an optional warm-up. The probes read the student's trunk.
"""
from __future__ import annotations

import copy
import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

from monossl.data.views import views_of
from monossl.errors import OptionError
from monossl.losses.dino import dino_loss, ema_update, update_center
from monossl.methods.hparams import DINO as Hparams
from monossl.nets.registry import build_trunk
from monossl.schedule import decayed_lr, set_lr


def local_side(hp: Hparams, size: int) -> int:
    return hp.local_size or max(8, round(size * 96 / 224))


def check(config, hp: Hparams) -> None:
    if local_side(hp, config.input.size) > config.input.size:
        raise OptionError("local_size", hp.local_size, f"local views larger than the {config.input.size}-px patch; "
                          "give a side no larger than the patch")
    if config.arch != "cifar" and local_side(hp, config.input.size) < 64:
        raise OptionError("local_size", local_side(hp, config.input.size), "too small for an AlexNet's pooling; use "
                          "64 px or more (or --arch cifar)")


class Head(nn.Module):
    """DINO's head: MLP (3 layers, GELU; batch norm after each hidden layer with `bn`) to a bottleneck, L2
    normalisation, then a weight-normalised linear layer."""

    def __init__(self, width: int, hidden: int, bottleneck: int, out: int, bn: bool = False):
        super().__init__()
        layers = []
        for n in (width, hidden):
            layers += [nn.Linear(n, hidden), *([nn.BatchNorm1d(hidden)] if bn else []), nn.GELU()]
        self.mlp = nn.Sequential(*layers, nn.Linear(hidden, bottleneck))
        self.last = nn.utils.parametrizations.weight_norm(nn.Linear(bottleneck, out, bias=False))
        self.last.parametrizations.weight.original0.data.fill_(1.0)  # the norm fixed at 1, as DINO's
        self.last.parametrizations.weight.original0.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last(F.normalize(self.mlp(x), dim=1))


class Net(nn.Module):
    def __init__(self, trunk: nn.Module, head: Head):
        super().__init__()
        self.trunk, self.head = trunk, head

    def forward(self, views: list[torch.Tensor]) -> list[torch.Tensor]:
        """Views of one side are batched together through the trunk (global average pooling), as DINO's."""
        out = []
        for _, group in itertools.groupby(views, key=lambda v: v.shape[-1]):
            group = list(group)
            out += list(self.head(self.trunk(torch.cat(group)).mean((2, 3))).chunk(len(group)))
        return out


def train(run, hp: Hparams) -> None:
    cfg = run.config
    trunk = build_trunk(cfg.arch, cfg.seed)
    student = Net(trunk, Head(trunk.out_channels, hp.hidden, hp.bottleneck, hp.out_dim, hp.head_bn))
    teacher = copy.deepcopy(student).requires_grad_(False)
    params = [p for p in student.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=hp.lr, weight_decay=hp.weight_decay)
    model, optimiser = run.fabric.setup(student, optimiser)
    teacher = run.fabric.to_device(teacher)
    center = run.fabric.to_device(torch.zeros(hp.out_dim))
    glob = views_of(hp, cfg.input.size, hp.global_scale)
    local = views_of(hp, local_side(hp, cfg.input.size), hp.local_scale)
    state = {"model": model, "optimiser": optimiser, "teacher": teacher, "center": center}
    start = run.restore(state)
    center = state["center"]
    data = cfg.input.unlabelled(cfg.seed)
    loader = run.loader(data)
    total = cfg.epochs * len(loader)
    for epoch in range(start, cfg.epochs):
        data.set_epoch(epoch)
        model.train()
        for i, images in enumerate(run.epoch_batches(loader, epoch)):
            step = epoch * len(loader) + i
            set_lr(optimiser, decayed_lr(hp.lr, "cosine", step, total, round(hp.warmup * len(loader))))
            views = [glob(images), glob(images)] + [local(images) for _ in range(hp.local_crops)]
            with torch.no_grad():
                targets = teacher(views[:2])
            loss = dino_loss(model(views), targets, center, hp.student_temp, hp.teacher_temp)
            optimiser.zero_grad(set_to_none=True)
            run.fabric.backward(loss)
            optimiser.step()
            momentum = 1 - (1 - hp.momentum) * (math.cos(math.pi * step / max(total, 1)) + 1) / 2
            ema_update(teacher, model.module, momentum)
            center.copy_(update_center(center, targets, hp.center_momentum))
            run.log_step(epoch, loss=loss.detach())
        run.end_epoch(epoch, state, trunk=trunk, loss=loss.detach(), lr=optimiser.param_groups[0]["lr"])
    run.finish(trunk)
