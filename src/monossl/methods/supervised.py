"""The "Fully supervised" rows: the same trunk trained on the probe dataset's labels.

Native augmentation as RotNet's (random crops, flips); SGD, momentum 0.9, Nesterov, weight decay
5e-4, lr 0.1, x0.2 at 30/60/80% of the run (pass --lr 0.01 for AlexNet on ImageNet).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

from monossl.data.patches import to_unit_range
from monossl.errors import UserError
from monossl.methods.engine import Run, set_lr, step_lr
from monossl.methods.rotnet import classifier_and_optimiser, native_augmentation


@dataclass
class Hparams:
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    nesterov: bool = True
    milestones: tuple[float, ...] = (0.3, 0.6, 0.8)
    lr_factor: float = 0.2
    hidden: int | None = None


def train(run: Run, hp: Hparams) -> None:
    cfg = run.config
    if cfg.sources or cfg.patches:
        raise UserError("supervised needs labels: use --dataset cifar10|cifar100 or --folder DIR with class subfolders")
    images, labels, classes = run.labelled()
    data = TensorDataset(to_unit_range(images), torch.from_numpy(labels).long())
    lr = hp.lr
    trunk, model, optimiser = classifier_and_optimiser(run, hp, classes)
    augment = native_augmentation(cfg.arch, cfg.size)
    state = {"model": model, "optimiser": optimiser}
    start = run.restore(state)
    loader = run.loader(data)
    for epoch in range(start, cfg.epochs):
        set_lr(optimiser, step_lr(lr, epoch, cfg.epochs, hp.milestones, hp.lr_factor))
        model.train()
        correct = seen = 0
        for x, y in run.epoch_batches(loader, data, epoch):
            logits = model(augment(x))
            loss = F.cross_entropy(logits, y)
            optimiser.zero_grad(set_to_none=True)
            run.fabric.backward(loss)
            optimiser.step()
            accuracy = (logits.argmax(1) == y).float().mean().item()
            correct, seen = correct + accuracy * len(y), seen + len(y)
            run.log_step(epoch, loss=loss.item(), train_acc=accuracy)
        run.end_epoch(epoch, state, trunk=trunk, train_acc=100 * correct / max(seen, 1), lr=optimiser.param_groups[0]["lr"])
    run.finish(trunk)
