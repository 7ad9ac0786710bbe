"""Distillation from one image (Asano & Saeed, ICLR 2023, "The Augmented Image Prior"): a randomly initialised
student learns to imitate a trained teacher on the §3.1 patches of a single image, with no training image and no
label. Each batch of patches is flipped, padded and randomly cropped, and CutMixed between its own patches (mixup
as an option); teacher and student see the same views; the loss is T^2 KL(teacher^T || student^T) (T = 8), plus
an optional cross-entropy to the teacher's hard labels. The teacher runs frozen in eval mode. Each epoch logs the
student's top-1 on the teacher's test set, its agreement with the teacher there, and CPU-minutes; the run keeps
the whole student (RUN/classifier.pt) and its trunk (RUN/trunk.pt), which probes and viz commands take.
"""
from __future__ import annotations

import sys

import torch
import torch.nn.functional as F

from monossl.data.mixing import cutmix, mixup
from monossl.errors import OptionError, UserError, opt
from monossl.losses.distill import agreement, kd_loss
from monossl.methods.classifier import native_augmentation
from monossl.methods.hparams import Distill as Hparams
from monossl.schedule import decayed_lr, set_lr


def load_teacher(hp: Hparams, size: int) -> tuple[torch.nn.Module, dict]:
    """The frozen teacher and what it says of itself; its class count is read from one forward when unrecorded.

    Raises:
        UserError: no teacher given, a file that is no classifier, or one that cannot take `size`-px images."""
    from monossl.nets.classifier import load_classifier

    if not hp.teacher:
        raise UserError(f"distill needs a teacher: {opt('teacher')} RUN_OR_FILE (a supervised run or a TorchScript file)")
    teacher, meta = load_classifier(hp.teacher)
    try:
        with torch.no_grad():
            out = teacher(torch.zeros(2, 3, size, size))
    except Exception as exc:  # noqa: BLE001 - whatever the foreign module raises, it cannot take these images
        raise OptionError("teacher", hp.teacher, f"cannot classify {size}-px images ({type(exc).__name__}); pass a "
                          f"classifier of {size}-px images or patches of its size ({opt('size')})") from None
    if not (torch.is_tensor(out) and out.dim() == 2 and out.shape[0] == 2 and out.shape[1] >= 2):
        raise OptionError("teacher", hp.teacher, "is not a classifier: its output is not (batch, classes) logits")
    if meta["classes"] not in (None, out.shape[1]):
        raise OptionError("teacher", hp.teacher, f"records {meta['classes']} classes but outputs {out.shape[1]}")
    for param in teacher.parameters():  # (TorchScript modules have no requires_grad_)
        param.requires_grad_(False)
    return teacher.eval(), {**meta, "classes": int(out.shape[1])}


def eval_set(hp: Hparams, classes: int, size: int, data_root: str | None):
    """The labelled test images the student is scored on: (-1, 1) float images and labels.

    Raises:
        UserError: a set whose class count or image size does not fit the teacher."""
    from monossl.data.patches import to_unit_range
    from monossl.data.specs import DatasetSpec

    name = hp.eval or {10: "cifar10", 100: "cifar100"}.get(classes)
    if name is None:
        raise OptionError("eval", None, f"the teacher has {classes} classes: name its test set (folder:TRAIN_DIR,VAL_DIR)")
    spec = DatasetSpec.parse(name)
    if spec.kind == "folder":
        import numpy as np

        from monossl.data.folder import ImageFolder

        train = ImageFolder(spec.dirs[0], crop=size, train=False, view="centre")
        val = ImageFolder(spec.dirs[1], crop=size, train=False, classes=train.classes, view="centre")
        count = len(train.classes)
        images = torch.stack([val[i][0] for i in range(len(val))]).float() / 127.5 - 1
        labels = torch.from_numpy(np.asarray(val.labels)).long()
    else:
        from monossl.data.cifar import load_cifar

        test = load_cifar(spec.kind, data_root, train=False)
        count, images, labels = test.num_classes, to_unit_range(test.images), torch.from_numpy(test.labels).long()
        if size != 32:
            images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    if count != classes:
        raise OptionError("eval", name, f"has {count} classes but the teacher {classes}; pass the teacher's own test set")
    return images, labels


def teacher_input(x: torch.Tensor, norm: str) -> torch.Tensor:
    if norm == "imagenet":
        from monossl.nets.trunk import IMAGENET_MEAN, IMAGENET_STD

        return ((x + 1) / 2 - IMAGENET_MEAN.to(x)) / IMAGENET_STD.to(x)
    return x


def check(config, hp: Hparams) -> None:
    """The teacher loads and classifies patches of the run's size, and its test set fits it (the student's fit to
    the patch size is checked for every method)."""
    _, meta = load_teacher(hp, config.input.size)
    eval_set(hp, meta["classes"], config.input.size, config.input.data_root)


@torch.no_grad()
def predict(model, images: torch.Tensor, device, batch: int = 500, norm: str = "unit") -> torch.Tensor:
    was = model.training
    model.eval()
    out = torch.cat([model(teacher_input(images[i:i + batch].to(device), norm)).float().cpu()
                     for i in range(0, len(images), batch)])
    model.train(was)
    return out


def views(x: torch.Tensor, hp: Hparams, augment) -> torch.Tensor:
    """Flip and pad-and-crop (per image), then CutMix or mixup between the batch's own images (per batch)."""
    x = augment(x) if augment is not None else x
    draw = float(torch.rand(()))
    if draw < hp.cutmix:
        return cutmix(x, hp.cutmix_alpha)[0]
    if draw < hp.cutmix + hp.mixup:
        return mixup(x, hp.mixup_alpha)[0]
    return x


def train(run, hp: Hparams) -> None:
    from monossl.methods.classifier import crop_size
    from monossl.nets.classifier import classifier_for, save_classifier
    from monossl.nets.registry import build_trunk

    cfg, fabric = run.config, run.fabric
    teacher, meta = load_teacher(hp, cfg.input.size)
    classes = meta["classes"]
    test_images, test_labels = eval_set(hp, classes, cfg.input.size, cfg.input.data_root)
    student = classifier_for(build_trunk(cfg.arch, cfg.seed), crop_size(cfg.arch, cfg.input.size), hp.hidden, classes)
    params = [p for p in student.parameters() if p.requires_grad]
    optimiser = (torch.optim.Adam(params, lr=hp.lr, weight_decay=hp.weight_decay) if hp.optimiser == "adam" else
                 torch.optim.SGD(params, lr=hp.lr, momentum=0.9, nesterov=True, weight_decay=hp.weight_decay))
    model, optimiser = fabric.setup(student, optimiser)
    teacher = fabric.to_device(teacher)
    augment = native_augmentation(cfg.arch, cfg.input.size, hp.view_padding, hp.view_flip)
    state = {"model": model, "optimiser": optimiser}
    start = run.restore(state)
    teacher_test = predict(teacher, test_images, fabric.device, norm=hp.teacher_norm)
    teacher_acc = 100 * float((teacher_test.argmax(1) == test_labels).float().mean())
    if fabric.is_global_zero and start == 0:
        print(f"teacher {hp.teacher}: top-1 {teacher_acc:.2f} on its test set ({classes} classes)", file=sys.stderr)
    if start == 0 and fabric.is_global_zero:  # the untrained student: where the curve starts
        scores = predict(model, test_images, fabric.device)
        run.metrics.append({"kind": "eval", "epoch": 0, "step": 0, "cpu_minutes": 0.0, "images_seen": 0,
                            "test_acc": 100 * float((scores.argmax(1) == test_labels).float().mean()),
                            "test_agreement": 100 * float(agreement(scores, teacher_test)), "teacher_acc": teacher_acc})
    data = cfg.input.unlabelled(cfg.seed)
    loader = run.loader(data)
    total = cfg.epochs * len(loader)
    for epoch in range(start, cfg.epochs):
        data.set_epoch(epoch)
        model.train()
        for i, images in enumerate(run.epoch_batches(loader, epoch)):
            step = epoch * len(loader) + i
            set_lr(optimiser, decayed_lr(hp.lr, hp.lr_decay, step, total, round(hp.warmup * len(loader))))
            x = views(images, hp, augment)
            with torch.no_grad(), fabric.autocast():
                target = teacher(teacher_input(x, hp.teacher_norm)).float()
            logits = model(x)
            loss = kd_loss(logits, target, hp.temperature)
            if hp.hard_weight:
                loss = loss + hp.hard_weight * F.cross_entropy(logits.float(), target.argmax(1))
            optimiser.zero_grad(set_to_none=True)
            fabric.backward(loss)
            optimiser.step()
            run.log_step(epoch, loss=loss.detach(), agreement=agreement(logits.detach(), target))
        scores = predict(model, test_images, fabric.device)
        run.end_epoch(epoch, state, trunk=student.trunk, loss=loss.detach(), lr=optimiser.param_groups[0]["lr"],
                      test_acc=100 * float((scores.argmax(1) == test_labels).float().mean()),
                      test_agreement=100 * float(agreement(scores, teacher_test)), teacher_acc=teacher_acc)
    final = 100 * float((predict(model, test_images, fabric.device).argmax(1) == test_labels).float().mean())
    if fabric.is_global_zero:
        save_classifier(run.out / "classifier.pt", model, cfg.arch, classes, crop_size(cfg.arch, cfg.input.size), hp.hidden,
                        method="distill", teacher=hp.teacher, test_acc=final, teacher_acc=teacher_acc)
    run.finish(student.trunk)

