"""The "Fully supervised" rows: the same trunk trained on the probe dataset's labels.

Native augmentation as RotNet's (random crops, flips) and its SGD schedule (`monossl.methods.hparams.SGD`);
`reproduce`'s CIFAR protocols train at lr 0.1 after one epoch of warm-up (docs/research/tables-at-the-cpu-budget.md,
"The supervised row"). On a CIFAR dataset each epoch also logs `test_acc`, the classifier's own top-1 on the test
split; the run keeps the whole classifier, trunk and head, as RUN/classifier.pt (a distillation teacher).
"""
from __future__ import annotations

import torch
from torch.utils.data import TensorDataset

from monossl.data.patches import to_unit_range
from monossl.errors import UserError, opt
from monossl.methods.classifier import (classification_loss, classifier_and_optimiser, crop_size, head_width,
                                        native_augmentation, scheduled_lr)
from monossl.methods.hparams import Supervised as Hparams
from monossl.nets.classifier import save_classifier
from monossl.schedule import set_lr


def check(config, hp: Hparams) -> None:
    if config.input.kind not in ("dataset", "folder"):
        raise UserError(f"supervised needs labels: use {opt('dataset')} cifar10|cifar100 or {opt('folder')} DIR with "
                        "class subfolders")


@torch.no_grad()
def test_accuracy(model, images: torch.Tensor, labels: torch.Tensor, device, batch: int = 500) -> float:
    """Top-1 (%) of the trunk + head on held-out images (eval mode: BatchNorm's running statistics)."""
    was = model.training
    model.eval()
    correct = sum(int((model(images[i:i + batch].to(device)).argmax(1).cpu() == labels[i:i + batch]).sum())
                  for i in range(0, len(labels), batch))
    model.train(was)
    return 100 * correct / max(len(labels), 1)


def held_out(cfg) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The test split of a CIFAR dataset (None for folders: their held-out split is the probe's business)."""
    if not cfg.input.dataset:
        return None
    from monossl.data.cifar import load_cifar

    data = load_cifar(cfg.input.dataset, cfg.input.data_root, train=False)
    return to_unit_range(data.images), torch.from_numpy(data.labels).long()


def train(run, hp: Hparams) -> None:
    cfg = run.config
    images, labels, classes = cfg.input.labelled()
    data = TensorDataset(to_unit_range(images), torch.from_numpy(labels).long())
    trunk, model, optimiser = classifier_and_optimiser(run, hp, classes)
    augment = native_augmentation(cfg.arch, cfg.input.size)
    state = {"model": model, "optimiser": optimiser}
    start = run.restore(state)
    loader = run.loader(data)
    test = held_out(cfg)
    for epoch in range(start, cfg.epochs):
        model.train()
        correct, seen = torch.zeros(()), 0
        for i, (x, y) in enumerate(run.epoch_batches(loader, epoch)):
            set_lr(optimiser, scheduled_lr(hp, epoch, i, len(loader), cfg.epochs))
            loss, accuracy = classification_loss(model(augment(x)), y, hp.label_smoothing)
            optimiser.zero_grad(set_to_none=True)
            run.fabric.backward(loss)
            optimiser.step()
            correct, seen = correct + accuracy.cpu() * len(y), seen + len(y)
            run.log_step(epoch, loss=loss.detach(), train_acc=accuracy)
        extra = {} if test is None else {"test_acc": test_accuracy(model, *test, run.fabric.device)}
        run.end_epoch(epoch, state, trunk=trunk, train_acc=100 * float(correct) / max(seen, 1),
                      lr=optimiser.param_groups[0]["lr"], **extra)
    if run.fabric.is_global_zero:  # the whole classifier, for evaluation and as a distillation teacher
        save_classifier(run.out / "classifier.pt", model, cfg.arch, classes, crop_size(cfg.arch, cfg.input.size),
                        head_width(hp, cfg.arch), method="supervised", **extra)
    run.finish(trunk)
