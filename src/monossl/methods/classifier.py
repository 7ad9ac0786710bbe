"""What the classification methods share (RotNet, supervised, DeepCluster): native crops, heads,
and the trunk + head model with its SGD optimiser."""
from __future__ import annotations

import kornia.augmentation as K
import torch
import torch.nn.functional as F
from torch import nn

from monossl.nets.registry import build_trunk


def crop_size(arch: str, size: int) -> int:
    """Native crop side: AlexNets see 224/256 of the patch (224 from 256, as RotNet/DeepCluster); the CIFAR trunk all of it."""
    return size if arch == "cifar" else round(size * 224 / 256)


def feature_dim(trunk: nn.Module, crop: int) -> int:
    """Flattened size of the trunk's output for a crop x crop input."""
    with torch.no_grad():
        was = trunk.training
        trunk.eval()
        dim = trunk(torch.zeros(1, 3, crop, crop)).flatten(1).shape[1]
        trunk.train(was)
    return dim


def native_augmentation(arch: str, size: int) -> nn.Module:
    """RotNet's (and the supervised baseline's) views: random crops (padded by 4 on the CIFAR trunk) and flips."""
    crop = crop_size(arch, size)
    return nn.Sequential(K.RandomCrop((crop, crop), padding=4 if crop == size else 0), K.RandomHorizontalFlip())


def head(in_dim: int, hidden: int | None, classes: int) -> nn.Module:
    """A linear head, or RotNet's AlexNet classifier (two hidden layers with BatchNorm)."""
    if not hidden:
        return nn.Linear(in_dim, classes)
    return nn.Sequential(nn.Linear(in_dim, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                         nn.Linear(hidden, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                         nn.Linear(hidden, classes))


def classifier_and_optimiser(run, hp, classes: int):
    """Trunk + head as one Fabric-wrapped module, and its SGD optimiser."""
    cfg = run.config
    hidden = hp.hidden if hp.hidden is not None else (None if cfg.arch == "cifar" else 4096)
    trunk = build_trunk(cfg.arch)
    model = nn.Sequential(trunk, nn.Flatten(), head(feature_dim(trunk, crop_size(cfg.arch, cfg.input.size)), hidden, classes))
    optimiser = torch.optim.SGD(model.parameters(), lr=hp.lr, momentum=hp.momentum, weight_decay=hp.weight_decay,
                                nesterov=hp.nesterov)
    model, optimiser = run.fabric.setup(model, optimiser)
    return trunk, model, optimiser


def classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy and top-1 accuracy (a tensor: read it only when logging)."""
    return F.cross_entropy(logits, labels), (logits.detach().argmax(1) == labels).float().mean()
