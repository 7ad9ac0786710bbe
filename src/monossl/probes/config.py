"""The linear probes' protocol (§4.1), every constant a value of `ProbeConfig`, and its presets. No torch here."""
from __future__ import annotations

from dataclasses import dataclass

from monossl.options import Options, option
from monossl.schedule import step_lr

AUGMENTS = ("none", "flip", "crop-flip")
NORMS = ("channel", "feature")
BN_STATS = ("auto", "batch", "population")
FOLDER_VIEWS = ("ten-crop", "centre")


@dataclass(frozen=True)
class ProbeConfig(Options):
    """The probe protocol: a BatchNorm (no affine) and a linear layer per tap, trained by SGD on frozen features."""

    epochs: int = option(36, "training epochs", low=1)
    lr: float = option(0.01, "initial learning rate", above=0)
    milestones: tuple[int, ...] = option((5, 15, 25), "epochs at which the rate is multiplied by lr_factor", low=0)
    lr_factor: float = option(0.2, "the rate's factor at each milestone (0.2: divided by 5)", above=0, high=1)
    momentum: float = option(0.9, "SGD momentum", low=0, below=1)
    nesterov: bool = option(True, "plain momentum instead of Nesterov's")
    weight_decay: float = option(5e-4, "weight decay", low=0)
    batch_size: int = option(192, "batch size", low=2)
    augment: str = option("flip", "training views: none, flip, or crop-flip (pad, random crop, flip)", choices=AUGMENTS)
    norm: str = option("feature", "probe BatchNorm per channel (BatchNorm2d on the tap) or per flattened feature",
                       choices=NORMS)
    bn_stats: str = option("auto", "BatchNorm statistics: per batch (running ones at test), fixed training-set ones, or "
                           "auto: fixed where features are cached (CIFAR, centre folder views), per batch on ten-crop folders", choices=BN_STATS)
    crop_padding: int = option(4, "crop-flip: zero padding before the random crop", low=0)
    pool_target: int = option(9600, "image folders: pooled dims per tap (CIFAR probes full resolution)", low=1)
    crop: int | None = option(None, "image folders: input side", low=64, shown="the trunk's, 224 for AlexNet")
    folder_views: str = option("ten-crop", "image folders: ten-crop (a random crop of every image each epoch, ten crops "
                               "averaged at test: the paper's) or centre (centre crops decoded once, features cached "
                               "and flipped per --augment as on CIFAR)", choices=FOLDER_VIEWS)
    seed: int = option(0, "random seed of the probes' init and order", low=0)
    memory_budget_gb: float = option(8.0, "cached features beyond this go to a memory map on disk", above=0)
    train_limit: int | None = option(None, "probe on a seeded subset of the training split (image folders keep an "
                                     "equal share per class)", low=2)
    test_limit: int | None = option(None, "evaluate on a seeded subset of the test split", low=1)

    def lr_at(self, epoch: int) -> float:
        return step_lr(self.lr, epoch, self.milestones, self.lr_factor)


PRESETS = {
    "paper": ProbeConfig(),
    "linear-probes": ProbeConfig(milestones=(10, 20, 30), lr_factor=0.1, weight_decay=1e-5),
}
