"""What the classification methods share (RotNet, supervised, DeepCluster): native crops, heads,
the trunk + head model with its SGD optimiser, and (RotNet, supervised) its step schedule with warm-up."""
from __future__ import annotations

import kornia.augmentation as K
import torch
import torch.nn.functional as F
from torch import nn

from monossl.nets.classifier import classifier_for
from monossl.nets.registry import build_trunk
from monossl.schedule import milestone_epochs, step_lr, warmup_lr


def crop_size(arch: str, size: int) -> int:
    """Native crop side: AlexNets see 224/256 of the patch (224 from 256, as RotNet/DeepCluster); the CIFAR trunk all of it."""
    from monossl.nets.archs import WHOLE_PATCH

    return size if arch in WHOLE_PATCH else round(size * 224 / 256)


def native_augmentation(arch: str, size: int, padding: int = 4, flip: bool = True) -> nn.Module:
    """RotNet's (and the supervised baseline's) views: random crops (zero-padded by `padding` where the trunk sees
    the whole patch) and left-right flips."""
    crop = crop_size(arch, size)
    views = [K.RandomCrop((crop, crop), padding=padding if crop == size else 0)] if (padding or crop != size) else []
    return nn.Sequential(*views, *([K.RandomHorizontalFlip()] if flip else []))


def head_width(hp, arch: str) -> int | None:
    """The head's hidden width: `hp.hidden`, else a linear head on the CIFAR trunk and 4096 on AlexNet."""
    return hp.hidden if hp.hidden is not None else (None if arch == "cifar" else 4096)


def classifier_and_optimiser(run, hp, classes: int):
    """Trunk + head (`nets.classifier.Classifier`) as one Fabric-wrapped module, and its SGD optimiser."""
    cfg = run.config
    init = getattr(hp, "trunk_init", "deepcluster")  # RotNet's option; the supervised trunk starts as the random rows
    trunk = build_trunk(cfg.arch, cfg.seed, **({"init": init} if init != "deepcluster" else {}))
    model = classifier_for(trunk, crop_size(cfg.arch, cfg.input.size), head_width(hp, cfg.arch), classes)
    optimiser = torch.optim.SGD(model.parameters(), lr=hp.lr, momentum=hp.momentum, weight_decay=hp.weight_decay,
                                nesterov=hp.nesterov)
    model, optimiser = run.fabric.setup(model, optimiser)
    return trunk, model, optimiser


def classification_loss(logits: torch.Tensor, labels: torch.Tensor, smoothing: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy (with label smoothing) and top-1 accuracy (a tensor: read it only when logging)."""
    return (F.cross_entropy(logits, labels, label_smoothing=smoothing),
            (logits.detach().argmax(1) == labels).float().mean())


def scheduled_lr(hp, epoch: int, i: int, steps: int, epochs: int) -> float:
    """The rate at batch `i` of `epoch` (of `epochs`, `steps` batches each): hp.lr stepped down by hp.lr_factor at
    each milestone (fractions of the run), ramped up linearly over the first round(hp.warmup * steps) steps."""
    milestones = milestone_epochs(hp.milestones, epochs)
    return warmup_lr(step_lr(hp.lr, epoch, milestones, hp.lr_factor), epoch * steps + i, round(hp.warmup * steps))
