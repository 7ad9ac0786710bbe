"""The budgets of `monossl reproduce`, in one module that the runner and the reports both import.

A budget says, for each family of tables, how long every method trains and how the trunks are probed:
  smoke  a couple of minutes for a whole table on 2 cores (CI): tiny pretraining, probes on subsets; too
         small to judge any claim;
  cpu    meaningful on a 2-core laptop: 5-20 CPU-minutes of training a row (the supervised reference ~50), full
         CIFAR probes; Table 2's family is a documented stand-in, not the paper's protocol;
  paper  the paper's settings, for a GPU: d = 50,000 patches at S = 32 for CIFAR rows (1,281,167 at S = 256 for
         ImageNet rows), each method's published schedule.
Every value that departs from a method's paper default is measured: docs/research/budgets.md gives the runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

@dataclass(frozen=True)
class MethodBudget:
    count: int
    epochs: int
    batch_size: int
    hparams: dict = field(default_factory=dict)
    precision: str | None = None  # Fabric precision when not full (32-true)


@dataclass(frozen=True)
class Protocol:
    """What a budget does on one family of tables: CIFAR (Tables 1, 3, 4: the CIFAR trunk at S = 32) or
    ImageNet (Table 2: AlexNet on an image folder)."""
    methods: dict[str, MethodBudget]
    size: int = 32  # training patch side S (AlexNets train on 224/256 crops of it)
    probe_epochs: int = 36
    probe_train_limit: int | None = None  # a seeded subset with an equal share per class; None: all
    probe_test_limit: int | None = None
    probe_crop: int | None = None  # folder probes' input side; None: the trunk's own (224 for AlexNet)
    probe_folder_views: str | None = None  # folder probes' views (ProbeConfig.folder_views); None: the paper's ten-crop
    arch: str | None = None  # the trunk (a distillation student), when not the table's own
    probe_knn_k: int | None = None  # kNN voters of tables that probe with kNN too; None: the probe's default (200)


@dataclass(frozen=True)
class Budget:
    name: str
    cifar: Protocol
    imagenet: Protocol
    distill: Protocol  # Table D: the teacher ("supervised") and the student ("distill")
    methods: Protocol  # Table M: every method from Image B at equal CPU-minutes, and the supervised trunk

    def protocol(self, table) -> Protocol:
        """The protocol of a table's family: its own (`methods` for Table M), `imagenet` for Table 2, `distill` for
        Table D, `cifar` for the others."""
        return getattr(self, family(table))


def family(table) -> str:
    """Which protocol of a budget a table runs under."""
    if table.family:
        return table.family
    if table.measure == "classifier":
        return "distill"
    return "imagenet" if table.probe_dataset == "imagenet" else "cifar"


SMOKE_METHODS = {
    "monogan": MethodBudget(256, 1, 32, {"gen_dim": 16}),
    "rotnet": MethodBudget(256, 1, 32),
    "deepcluster": MethodBudget(256, 1, 32, {"k": 10, "hidden": 128}),
    "bigan": MethodBudget(256, 1, 32, {"gen_dim": 16}),
    "supervised": MethodBudget(0, 1, 32),
    "simclr": MethodBudget(256, 1, 32, {"proj_hidden": 64, "proj_dim": 16}),
    "dino": MethodBudget(256, 1, 32, {"out_dim": 64, "hidden": 64, "bottleneck": 16, "local_crops": 2}),
}
SMOKE_CIFAR = Protocol(SMOKE_METHODS, probe_epochs=2, probe_train_limit=1000, probe_test_limit=500)
SMOKE_METHODS_TABLE = replace(SMOKE_CIFAR, probe_knn_k=20)  # Table M's smoke probe: kNN on the tiny test sets

# RotNet's CIFAR rate (its NIN's 0.1; the method default 0.01 is its AlexNet's) after a linear warm-up that the CIFAR
# trunk's linear head needs; the supervised row likewise (docs/research/budgets.md, "RotNet's learning rate").
ROTNET_CIFAR = {"lr": 0.1, "warmup": 0.5}
SUPERVISED_CIFAR = {"lr": 0.1, "warmup": 1}
SUPERVISED_CPU = MethodBudget(0, 30, 128, SUPERVISED_CIFAR)  # Table 1 (a); Table D's teacher (the same run)
# MonoGAN: the WGAN-GP authors' CIFAR betas (0, 0.9) at twice their rate, a resize-conv generator, a smooth conv1
# start (docs/research/budgets.md, "MonoGAN at the cpu budget", "A smooth start for conv1")
MONOGAN_CPU = {"gen_dim": 32, "lr": 4e-4, "beta1": 0.0, "beta2": 0.9, "upsample": "resize", "critic_init": "smooth"}

PAPER_CIFAR = {
    # WGAN-GP: 100k generator steps of 64 with 5 critic steps = 640 passes over d = 50,000
    "monogan": MethodBudget(50000, 640, 64),
    # RotNet: 100 epochs on CIFAR, batch 128
    "rotnet": MethodBudget(50000, 100, 128, ROTNET_CIFAR),
    "deepcluster": MethodBudget(50000, 500, 256),
    # BiGAN: 100 epochs, batch 128
    "bigan": MethodBudget(50000, 100, 128),
    "supervised": MethodBudget(0, 100, 128, SUPERVISED_CIFAR),
}

# Table D's student: the anchor's Adam 1e-3, T = 8 and CutMix, constant; 85 epochs of 12,800 Image B patches in
# bf16-mixed, 40 CPU-minutes on a 2-core CPU with AVX512-BF16, both cores busy (docs/research/distill.md)
DISTILL_CPU = MethodBudget(12800, 85, 256, {"lr": 1e-3}, "bf16-mixed")
DISTILL_PAPER = MethodBudget(50000, 1000, 512, {"lr": 1e-3})  # Asano & Saeed (2023): Adam 1e-3, batch 512, 1000 epochs

# Table M at the cpu budget: each method's `cpu` recipe (SimCLR's and DINO's paper defaults) with the epochs that make
# about 20 CPU-minutes a row, from each method's measured CPU-minutes an epoch; DINO with solo-learn's CIFAR head of
# 4,096 prototypes (the paper's 65,536 cost 2.9x as much a patch). docs/research/methods.md gives the measurements.
METHODS_CPU = {
    "rotnet": MethodBudget(25600, 4, 128, ROTNET_CIFAR),
    "deepcluster": MethodBudget(20000, 18, 128, {"k": 100}),
    "monogan": MethodBudget(12800, 7, 32, MONOGAN_CPU),
    "bigan": MethodBudget(12800, 9, 64, {"gen_dim": 32}),
    "simclr": MethodBudget(25600, 8, 256),
    "dino": MethodBudget(12800, 4, 256, {"out_dim": 4096}),
    "supervised": MethodBudget(0, 10, 128, SUPERVISED_CIFAR),
}
# Table M on a GPU: the paper budget's CIFAR schedules on d = 50,000 Image B patches; SimCLR 1000 epochs of 512 (its
# CIFAR-10 runs go to 1000 epochs, Chen et al. 2020, B.9), DINO solo-learn's CIFAR recipe (1000 epochs of 256, 4,096
# prototypes)
METHODS_PAPER = {**PAPER_CIFAR, "simclr": MethodBudget(50000, 1000, 512),
                 "dino": MethodBudget(50000, 1000, 256, {"out_dim": 4096})}

BUDGETS = {
    "smoke": Budget(
        "smoke",
        SMOKE_CIFAR,
        Protocol(SMOKE_METHODS, size=128, probe_epochs=2, probe_train_limit=200, probe_test_limit=100, probe_crop=112),
        Protocol({"supervised": SMOKE_METHODS["supervised"], "distill": MethodBudget(256, 1, 32)}),
        SMOKE_METHODS_TABLE),
    "cpu": Budget(
        "cpu",
        Protocol({
            "monogan": MethodBudget(12800, 2, 32, MONOGAN_CPU),  # two epochs are enough (docs/research/budgets.md)
            "rotnet": MethodBudget(25600, 5, 128, ROTNET_CIFAR),
            "deepcluster": MethodBudget(20000, 15, 128, {"k": 100}),
            "bigan": MethodBudget(12800, 8, 64, {"gen_dim": 32}),
            "supervised": SUPERVISED_CPU,
        }),
        # Table 2's stand-in, not the paper's protocol: AlexNet on 112-px crops of S = 128; probes on every image of a
        # small folder through centre views with cached features, a minute a seed where ten-crop views take 13;
        # RotNet starts from a smooth conv1, +2.2 points at every tap over the plain start at two seeds
        # (docs/research/table2.md)
        Protocol({
            "rotnet": MethodBudget(3000, 4, 64, {"trunk_init": "smooth"}),
            "deepcluster": MethodBudget(5000, 5, 64, {"k": 50}),
            "bigan": MethodBudget(3000, 2, 32, {"gen_dim": 32}),
            "supervised": MethodBudget(0, 10, 64),
        }, size=128, probe_crop=112, probe_folder_views="centre"),
        Protocol({"supervised": SUPERVISED_CPU, "distill": DISTILL_CPU}),
        Protocol(METHODS_CPU)),
    "paper": Budget(
        "paper",
        Protocol(PAPER_CIFAR),
        Protocol({
            # §3.2: d = 1,281,167 patches at S = 256 (ImageNet's size); RotNet 30 epochs of 192,
            # DeepCluster 500 epochs of 256 with k = 1000, BiGAN 100 epochs of 128
            "rotnet": MethodBudget(1281167, 30, 192),
            "deepcluster": MethodBudget(1281167, 500, 256),
            "bigan": MethodBudget(1281167, 100, 128),
            "supervised": MethodBudget(0, 90, 256),
        }, size=256),
        Protocol({"supervised": MethodBudget(0, 100, 128, SUPERVISED_CIFAR), "distill": DISTILL_PAPER}, arch="wrn-16-4"),
        Protocol(METHODS_PAPER)),
}
