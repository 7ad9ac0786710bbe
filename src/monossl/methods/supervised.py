"""The "Fully supervised" rows: the same trunk trained on the probe dataset's labels.

Native augmentation as RotNet's (random crops, flips); SGD, momentum 0.9, Nesterov, weight decay
5e-4, lr 0.1, x0.2 at 30/60/80% of the run (pass --lr 0.01 for AlexNet on ImageNet).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.data import TensorDataset

from monossl.data.patches import to_unit_range
from monossl.errors import UserError
from monossl.methods.classifier import classification_loss, classifier_and_optimiser, native_augmentation
from monossl.schedule import milestone_epochs, set_lr, step_lr


@dataclass
class Hparams:
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    nesterov: bool = True
    milestones: tuple[float, ...] = (0.3, 0.6, 0.8)
    lr_factor: float = 0.2
    hidden: int | None = None


def check(config, hp: Hparams) -> None:
    if config.input.kind not in ("dataset", "folder"):
        raise UserError("supervised needs labels: use --dataset cifar10|cifar100 or --folder DIR with class subfolders")
    if hp.lr <= 0:
        raise UserError(f"--lr {hp.lr}: must be positive")


def train(run, hp: Hparams) -> None:
    cfg = run.config
    images, labels, classes = cfg.input.labelled()
    data = TensorDataset(to_unit_range(images), torch.from_numpy(labels).long())
    trunk, model, optimiser = classifier_and_optimiser(run, hp, classes)
    augment = native_augmentation(cfg.arch, cfg.input.size)
    state = {"model": model, "optimiser": optimiser}
    start = run.restore(state)
    loader = run.loader(data)
    milestones = milestone_epochs(hp.milestones, cfg.epochs)
    for epoch in range(start, cfg.epochs):
        set_lr(optimiser, step_lr(hp.lr, epoch, milestones, hp.lr_factor))
        model.train()
        correct, seen = torch.zeros(()), 0
        for x, y in run.epoch_batches(loader, epoch):
            loss, accuracy = classification_loss(model(augment(x)), y)
            optimiser.zero_grad(set_to_none=True)
            run.fabric.backward(loss)
            optimiser.step()
            correct, seen = correct + accuracy.cpu() * len(y), seen + len(y)
            run.log_step(epoch, loss=loss.detach(), train_acc=accuracy)
        run.end_epoch(epoch, state, trunk=trunk, train_acc=100 * float(correct) / max(seen, 1),
                      lr=optimiser.param_groups[0]["lr"])
    run.finish(trunk)
