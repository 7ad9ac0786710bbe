"""What the classification methods share (RotNet, supervised, DeepCluster): native crops, heads,
the trunk + head model with its SGD optimiser, and (RotNet, supervised) its step schedule with warm-up."""
from __future__ import annotations

from dataclasses import dataclass

import kornia.augmentation as K
import torch
import torch.nn.functional as F
from torch import nn

from monossl.errors import UserError
from monossl.nets.classifier import classifier_for
from monossl.nets.registry import build_trunk
from monossl.schedule import milestone_epochs, step_lr, warmup_lr


def crop_size(arch: str, size: int) -> int:
    """Native crop side: AlexNets see 224/256 of the patch (224 from 256, as RotNet/DeepCluster); the CIFAR trunk all of it."""
    return size if arch == "cifar" else round(size * 224 / 256)


def native_augmentation(arch: str, size: int) -> nn.Module:
    """RotNet's (and the supervised baseline's) views: random crops (padded by 4 on the CIFAR trunk) and flips."""
    crop = crop_size(arch, size)
    return nn.Sequential(K.RandomCrop((crop, crop), padding=4 if crop == size else 0), K.RandomHorizontalFlip())


def head_width(hp, arch: str) -> int | None:
    """The head's hidden width: `hp.hidden`, else a linear head on the CIFAR trunk and 4096 on AlexNet."""
    return hp.hidden if hp.hidden is not None else (None if arch == "cifar" else 4096)


def classifier_and_optimiser(run, hp, classes: int):
    """Trunk + head (`nets.classifier.Classifier`) as one Fabric-wrapped module, and its SGD optimiser."""
    cfg = run.config
    trunk = build_trunk(cfg.arch)
    model = classifier_for(trunk, crop_size(cfg.arch, cfg.input.size), head_width(hp, cfg.arch), classes)
    optimiser = torch.optim.SGD(model.parameters(), lr=hp.lr, momentum=hp.momentum, weight_decay=hp.weight_decay,
                                nesterov=hp.nesterov)
    model, optimiser = run.fabric.setup(model, optimiser)
    return trunk, model, optimiser


def classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy and top-1 accuracy (a tensor: read it only when logging)."""
    return F.cross_entropy(logits, labels), (logits.detach().argmax(1) == labels).float().mean()


@dataclass
class SGDHparams:
    """RotNet's (and the supervised row's) optimiser and schedule: SGD, momentum 0.9, Nesterov, weight decay 5e-4,
    x0.2 at 30/60/80% of the run (RotNet's 30/60/80-of-100 epochs), optionally after a linear warm-up."""
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    nesterov: bool = True
    milestones: tuple[float, ...] = (0.3, 0.6, 0.8)
    lr_factor: float = 0.2
    warmup: float = 0.0  # epochs of linear warm-up to lr, per step (Goyal et al. 2017); 0: none


def check_schedule(hp) -> None:
    """RotNet's and the supervised row's SGD schedule: a positive rate, milestones within the run, warm-up >= 0."""
    if hp.lr <= 0:
        raise UserError(f"--lr {hp.lr}: must be positive")
    if any(not 0 <= m <= 1 for m in hp.milestones):
        raise UserError(f"--milestones {hp.milestones}: give fractions of the run between 0 and 1")
    if hp.warmup < 0:
        raise UserError(f"--warmup {hp.warmup}: give epochs of warm-up, 0 or more")


def scheduled_lr(hp, epoch: int, i: int, steps: int, epochs: int) -> float:
    """The rate at batch `i` of `epoch` (of `epochs`, `steps` batches each): hp.lr stepped down by hp.lr_factor at
    each milestone (fractions of the run), ramped up linearly over the first round(hp.warmup * steps) steps."""
    milestones = milestone_epochs(hp.milestones, epochs)
    return warmup_lr(step_lr(hp.lr, epoch, milestones, hp.lr_factor), epoch * steps + i, round(hp.warmup * steps))
