"""RotNet (Gidaris et al., 2018): predict which of four rotations (0/90/180/270) an image shows.

Every image of a batch appears in all four rotations in that batch (4-way classification). Native
augmentation: random crops (padded by 4 on the CIFAR trunk) and left-right flips. Optimiser and
schedule: SGD, momentum 0.9, Nesterov, weight decay 5e-4, lr 0.01 (RotNet's AlexNet value), multiplied
by 0.2 at 30%, 60% and 80% of the run (the published 30/60/80-of-100 epoch schedule). RotNet's NIN used
lr 0.1 on CIFAR; on the CIFAR trunk's linear head that stalls: 33.6% rotation accuracy after 100 steps
of 64 Image B patches against 60.1% at 0.01.
"""
from __future__ import annotations

from dataclasses import dataclass

import kornia.augmentation as K
import torch
import torch.nn.functional as F
from torch import nn

from monossl.methods.engine import Run, crop_size, feature_dim, set_lr, step_lr
from monossl.nets.registry import build_trunk


@dataclass
class Hparams:
    lr: float = 0.01  # RotNet's AlexNet value; see the module docstring
    momentum: float = 0.9
    weight_decay: float = 5e-4
    nesterov: bool = True
    milestones: tuple[float, ...] = (0.3, 0.6, 0.8)
    lr_factor: float = 0.2
    hidden: int | None = None  # classifier width: None -> linear head (CIFAR) / 4096 (AlexNet)


def rotate_batch(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C, H, W) -> (4B, C, H, W) with every image in 0/90/180/270 degrees, and labels 0..3."""
    rotations = [torch.rot90(x, k, dims=(2, 3)) for k in range(4)]
    labels = torch.arange(4, device=x.device).repeat_interleave(len(x))
    return torch.cat(rotations), labels


def native_augmentation(arch: str, size: int) -> nn.Module:
    crop = crop_size(arch, size)
    return nn.Sequential(K.RandomCrop((crop, crop), padding=4 if crop == size else 0),
                         K.RandomHorizontalFlip())


def head(in_dim: int, hidden: int | None, classes: int) -> nn.Module:
    if not hidden:
        return nn.Linear(in_dim, classes)
    return nn.Sequential(nn.Linear(in_dim, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                         nn.Linear(hidden, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                         nn.Linear(hidden, classes))


def classifier_and_optimiser(run: Run, hp, classes: int):
    """Trunk + head as one Fabric-wrapped module, and its SGD optimiser (RotNet and supervised share them)."""
    cfg = run.config
    hidden = hp.hidden if hp.hidden is not None else (None if cfg.arch == "cifar" else 4096)
    trunk = build_trunk(cfg.arch)
    model = nn.Sequential(trunk, nn.Flatten(), head(feature_dim(trunk, crop_size(cfg.arch, cfg.size)), hidden, classes))
    optimiser = torch.optim.SGD(model.parameters(), lr=hp.lr, momentum=hp.momentum, weight_decay=hp.weight_decay,
                                nesterov=hp.nesterov)
    model, optimiser = run.fabric.setup(model, optimiser)
    return trunk, model, optimiser


def train(run: Run, hp: Hparams) -> None:
    cfg = run.config
    lr = hp.lr
    trunk, model, optimiser = classifier_and_optimiser(run, hp, 4)
    augment = native_augmentation(cfg.arch, cfg.size)
    state = {"model": model, "optimiser": optimiser}
    start = run.restore(state)
    data = run.dataset()
    loader = run.loader(data)
    for epoch in range(start, cfg.epochs):
        set_lr(optimiser, step_lr(lr, epoch, cfg.epochs, hp.milestones, hp.lr_factor))
        model.train()
        correct = seen = 0
        for images in run.epoch_batches(loader, data, epoch):
            inputs, labels = rotate_batch(augment(images))
            logits = model(inputs)
            loss = F.cross_entropy(logits, labels)
            optimiser.zero_grad(set_to_none=True)
            run.fabric.backward(loss)
            optimiser.step()
            accuracy = (logits.argmax(1) == labels).float().mean()
            correct, seen = correct + accuracy.item() * len(labels), seen + len(labels)
            run.log_step(epoch, loss=loss.item(), rotation_acc=accuracy.item())
        run.end_epoch(epoch, state, trunk=trunk, rotation_acc=100 * correct / max(seen, 1), lr=optimiser.param_groups[0]["lr"])
    run.finish(trunk)
