"""RotNet (Gidaris et al., 2018): predict which of four rotations (0/90/180/270) an image shows.

Every image of a batch appears in all four rotations in that batch (4-way classification). Native
augmentation: random crops (padded by 4 on the CIFAR trunk) and left-right flips. Optimiser and
schedule: SGD, momentum 0.9, Nesterov, weight decay 5e-4, lr 0.01 (RotNet's AlexNet value), multiplied
by 0.2 at 30%, 60% and 80% of the run (the published 30/60/80-of-100 epoch schedule). RotNet's NIN used
lr 0.1 on CIFAR; on the CIFAR trunk's linear head that stalls: 33.6% rotation accuracy after 100 steps
of 64 Image B patches against 60.1% at 0.01, and after 2 epochs of 25,600 its probes read below random.
`warmup` (epochs of linear warm-up, Goyal et al. 2017) makes 0.1 train (85.2% against 82.9% at 0.01 after
2 epochs) and probe +1.7 / +1.8 / +1.8 / -0.7 better (two seeds; README, "RotNet's learning rate"), and on
all of CIFAR-10 (Table 3 c) +2.0 / +3.8 / +4.8 / +4.6. `reproduce`'s CIFAR protocols therefore train with
lr 0.1 and half an epoch of warm-up; the default here stays 0.01 without warm-up, right for AlexNet.
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
