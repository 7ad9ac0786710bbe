"""RotNet (Gidaris et al., 2018): predict which of four rotations (0/90/180/270) an image shows.

Every image of a batch appears in all four rotations in that batch (4-way classification). Native
augmentation: random crops (padded by 4 on the CIFAR trunk) and left-right flips. Optimiser and
schedule (`monossl.methods.hparams.SGD`): SGD, momentum 0.9, Nesterov, weight decay 5e-4, lr 0.01
(RotNet's AlexNet value), multiplied by 0.2 at 30%, 60% and 80% of the run (the published 30/60/80-of-100
epoch schedule), after `warmup` epochs of linear warm-up. `reproduce`'s CIFAR protocols use RotNet's CIFAR
rate, 0.1, after half an epoch of warm-up (docs/research/budgets.md, "RotNet's learning rate").
"""
from __future__ import annotations

import torch

from monossl.losses.rotation import rotate_batch, rotation_loss
from monossl.methods.classifier import classifier_and_optimiser, native_augmentation, scheduled_lr
from monossl.methods.hparams import RotNet as Hparams
from monossl.schedule import set_lr


def check(config, hp: Hparams) -> None:
    """Nothing beyond each option's declared range."""


def train(run, hp: Hparams) -> None:
    cfg = run.config
    trunk, model, optimiser = classifier_and_optimiser(run, hp, 4)
    augment = native_augmentation(cfg.arch, cfg.input.size)
    state = {"model": model, "optimiser": optimiser}
    start = run.restore(state)
    data = cfg.input.unlabelled(cfg.seed)
    loader = run.loader(data)
    for epoch in range(start, cfg.epochs):
        data.set_epoch(epoch)
        model.train()
        correct, seen = torch.zeros(()), 0
        for i, images in enumerate(run.epoch_batches(loader, epoch)):
            set_lr(optimiser, scheduled_lr(hp, epoch, i, len(loader), cfg.epochs))
            inputs, labels = rotate_batch(augment(images))
            loss, accuracy = rotation_loss(model(inputs), labels)
            optimiser.zero_grad(set_to_none=True)
            run.fabric.backward(loss)
            optimiser.step()
            correct, seen = correct + accuracy.cpu() * len(labels), seen + len(labels)
            run.log_step(epoch, loss=loss.detach(), rotation_acc=accuracy)
        run.end_epoch(epoch, state, trunk=trunk, rotation_acc=100 * float(correct) / max(seen, 1),
                      lr=optimiser.param_groups[0]["lr"])
    run.finish(trunk)
