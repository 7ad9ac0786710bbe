"""The paper's numbers (Tables 1-4) and each row's exact definition: the single source for reports.

A row says how its trunk is made (`kind`: pretrain / random / kraehenbuehl / reference), with which
method, from which data (`train`: image_a, image_b, deka, kilo, a whole dataset), with which §3.1
augmentations, and which trunk. Reference rows (numbers the paper borrows from other publications)
are still run when their recipe is ours to run (full-dataset pretraining); otherwise shown alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ALL_AUG = dict(scale=True, rotation=True, jitter=True, flip=True)


def aug(scale=False, rotation=False, jitter=False, flip=True) -> dict:
    return dict(scale=scale, rotation=rotation, jitter=jitter, flip=flip)


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    paper: tuple[float, ...] | None  # None: a row of ours, not in the paper
    kind: str  # pretrain | random | random-critic | random-start (the trunk `method` starts from) | random-sobel
    #            (DeepCluster's start) | random-leaky (BiGAN's start) | kraehenbuehl
    method: str | None = None
    train: str | None = None  # image_a | image_b | deka | kilo | cifar10 | cifar100 | imagenet | a source spec
    augment: dict = field(default_factory=lambda: dict(ALL_AUG))
    note: str = ""

    def run_id(self, arch: str) -> str:
        """A name shared by identical runs across tables (Table 3's MonoGAN is Table 1's row j)."""
        if self.kind != "pretrain":
            return f"{self.kind}_{arch}"
        from monossl.data.specs import SourceSpec

        on_sources = self.train in ("image_a", "image_b") or SourceSpec.parse(self.train).kind != "path"
        flags = "".join(k[0] for k, v in sorted(self.augment.items()) if v) if on_sources else ""
        return "_".join(filter(None, [self.method, self.train.replace(":", "-"), flags, arch]))


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    probe_dataset: str  # cifar10 | cifar100 | imagenet
    arch: str
    taps: tuple[str, ...]
    rows: tuple[Row, ...]
    extra: tuple[str, ...] = ()  # measured columns beyond the taps' linear probes (kNN accuracies, ...)
    measure: str = "probe"  # probe: linear probes of each row's trunk; classifier: each row's classifier on its test set
    relative: tuple[str, str] | None = None  # (column, row): a column of ratios of each row's column to that row's
    family: str | None = None  # a budget family of its own (Table M: `methods`); its runs are named apart
    knn: bool = False  # probe every tap with the weighted kNN classifier too (columns `knn_TAP`)

    def run_id(self, row: Row) -> str:
        """The run folder name of a row in this table: rows of a table with a budget family of its own train
        under other settings than the same row elsewhere, so their runs carry the family's name."""
        return row.run_id(self.arch) + (f"_{self.family}" if self.family else "")

    @property
    def judged(self) -> tuple[str, ...]:
        """The columns the claims compare and the noise margin pools: the taps, else the first measured column."""
        return self.taps or self.extra[:1]

    @property
    def columns(self) -> tuple[str, ...]:
        """Every measured column of a row: each tap's linear-probe top-1, then `extra`."""
        return self.taps + self.extra


CIFAR_TAPS = ("conv1", "conv2", "conv3", "conv4")
IMAGENET_TAPS = ("conv1", "conv2", "conv3", "conv4", "conv5")

TABLE1 = Table("table1", "Ablating data augmentation using MonoGAN (CIFAR-10 linear probes)", "cifar10", "cifar", CIFAR_TAPS, (
    Row("a", "Fully sup.", (66.5, 70.1, 72.4, 75.9), "pretrain", "supervised", "cifar10"),
    Row("b", "Random feat.", (57.8, 55.5, 54.2, 47.3), "random"),
    Row("rc", "Random critic", None, "random-critic",
        note="ours, not in the paper: MonoGAN's critic at init (LeakyReLU, no BatchNorm; conv1 drawn smooth at the `cpu` budget), the random trunk that matches rows c-j"),
    Row("c", "No aug.", (57.9, 56.2, 54.2, 47.8), "pretrain", "monogan", "image_b", aug(flip=False),
        note="the single image cloned d times: scale, rotation, jitter and flip off"),
    Row("d", "Jitter", (58.9, 58.0, 57.0, 49.8), "pretrain", "monogan", "image_b", aug(jitter=True)),
    Row("e", "Rotation", (61.4, 58.8, 56.1, 47.5), "pretrain", "monogan", "image_b", aug(rotation=True)),
    Row("f", "Scale", (67.9, 69.3, 67.9, 59.1), "pretrain", "monogan", "image_b", aug(scale=True)),
    Row("g", "Rot. & jitter", (64.9, 63.6, 61.0, 53.4), "pretrain", "monogan", "image_b", aug(rotation=True, jitter=True)),
    Row("h", "Rot. & scale", (67.6, 69.9, 68.0, 60.7), "pretrain", "monogan", "image_b", aug(rotation=True, scale=True)),
    Row("i", "Jitter & scale", (68.1, 71.3, 69.5, 62.4), "pretrain", "monogan", "image_b", aug(jitter=True, scale=True)),
    Row("j", "All", (68.1, 72.3, 70.8, 63.5), "pretrain", "monogan", "image_b"),
))

FULL = ("trained on the whole training split of the folder given as `--imagenet`: ImageNet's 1,281,167 images in the "
        "paper, the stand-in folder's at the `cpu` budget")
TABLE2 = Table("table2", "ImageNet LSVRC-12 linear probes (AlexNet, 10-crop)", "imagenet", "alexnet", IMAGENET_TAPS, (
    Row("a", "Full-supervision", (19.3, 36.3, 44.2, 48.3, 50.5), "pretrain", "supervised", "imagenet", note=FULL),
    Row("b", "Random", (11.6, 17.1, 16.9, 16.3, 14.1), "random"),
    Row("rs", "Random, RotNet's start", None, "random-start", "rotnet",
        note="ours, not in the paper: the random AlexNet the RotNet rows start from, conv1 drawn smooth at the `cpu` "
             "stand-in (the paper's random trunk at `paper`), so RotNet's gain over its own start shows"),
    Row("sb", "Random behind Sobel", None, "random-sobel",
        note="ours, not in the paper: DeepCluster's random AlexNet (the frozen Sobel filter in front, grey gradients "
             "in), the trunk the DeepCluster rows start from"),
    Row("lk", "Random, BiGAN's start", None, "random-leaky",
        note="ours, not in the paper: BiGAN's encoder at init (LeakyReLU in place of ReLU), the trunk the BiGAN rows "
             "start from"),
    Row("c", "Krähenbühl et al.: Random Rescaled", (17.5, 23.0, 24.5, 23.2, 20.6), "kraehenbuehl"),
    Row("d", "BiGAN, full dataset", (17.7, 24.5, 31.0, 29.9, 28.0), "pretrain", "bigan", "imagenet", note=FULL),
    Row("e", "BiGAN mono, Image A", (20.4, 30.9, 33.4, 28.4, 16.0), "pretrain", "bigan", "image_a"),
    Row("f", "BiGAN mono, Image B", (20.5, 30.4, 31.6, 27.0, 16.8), "pretrain", "bigan", "image_b"),
    Row("g", "BiGAN deka (10)", (16.2, 16.5, 16.5, 13.1, 7.5), "pretrain", "bigan", "deka"),
    Row("h", "BiGAN kilo (1,000)", (16.1, 17.7, 18.3, 17.6, 13.5), "pretrain", "bigan", "kilo"),
    Row("i", "RotNet, full dataset", (18.8, 31.7, 38.7, 38.2, 36.5), "pretrain", "rotnet", "imagenet", note=FULL),
    Row("j", "RotNet mono, Image A", (19.9, 30.2, 30.6, 27.6, 21.9), "pretrain", "rotnet", "image_a"),
    Row("k", "RotNet mono, Image B", (17.8, 27.6, 27.9, 25.4, 20.2), "pretrain", "rotnet", "image_b"),
    Row("l", "RotNet deka (10)", (19.6, 30.7, 32.6, 28.9, 22.6), "pretrain", "rotnet", "deka"),
    Row("m", "RotNet kilo (1,000)", (21.0, 33.5, 36.5, 34.0, 29.4), "pretrain", "rotnet", "kilo"),
    Row("n", "DeepCluster, full dataset", (18.0, 32.5, 39.2, 37.2, 30.6), "pretrain", "deepcluster", "imagenet", note=FULL),
    Row("o", "DeepCluster mono, Image A", (20.7, 31.5, 32.5, 28.5, 21.0), "pretrain", "deepcluster", "image_a"),
    Row("p", "DeepCluster mono, Image B", (19.7, 30.1, 31.6, 28.5, 20.4), "pretrain", "deepcluster", "image_b"),
    Row("q", "DeepCluster deka (10)", (18.5, 29.0, 31.1, 28.2, 21.9), "pretrain", "deepcluster", "deka"),
    Row("r", "DeepCluster kilo (1,000)", (19.5, 29.8, 33.0, 31.7, 26.8), "pretrain", "deepcluster", "kilo"),
))

TABLE3 = Table("table3", "CIFAR-10 linear probes", "cifar10", "cifar", CIFAR_TAPS, (
    Row("a", "Fully supervised", (66.5, 70.1, 72.4, 75.9), "pretrain", "supervised", "cifar10"),
    Row("b", "Random", (57.8, 55.5, 54.2, 47.3), "random"),
    Row("rc", "Random critic", None, "random-critic",
        note="ours, not in the paper: MonoGAN's critic at init (LeakyReLU, no BatchNorm; conv1 drawn smooth at the `cpu` budget), the random trunk that matches rows d-e"),
    Row("c", "RotNet", (64.4, 65.6, 65.6, 59.1), "pretrain", "rotnet", "cifar10", note="trained on all of CIFAR-10"),
    Row("d", "GAN (CIFAR-10)", (67.7, 73.0, 72.5, 69.2), "pretrain", "monogan", "cifar10"),
    Row("e", "MonoGAN", (68.1, 72.3, 70.8, 63.5), "pretrain", "monogan", "image_b"),
))

TABLE4 = Table("table4", "CIFAR-100 linear probes", "cifar100", "cifar", CIFAR_TAPS, (
    Row("a", "Fully supervised", (38.7, 43.6, 44.4, 46.5), "pretrain", "supervised", "cifar100"),
    Row("b", "Random", (30.9, 29.8, 28.6, 24.1), "random"),
    Row("c", "RotNet", (36.0, 35.9, 34.2, 25.8), "pretrain", "rotnet", "cifar100", note="trained on all of CIFAR-100"),
    Row("d", "GAN (CIFAR-100)", (38.7, 43.6, 44.4, 46.5), "pretrain", "monogan", "cifar100",
        note="the paper prints the fully supervised numbers again here, likely a typesetting slip"),
    Row("e", "GAN (CIFAR-10)", (39.6, 46.0, 45.1, 39.9), "pretrain", "monogan", "cifar10"),
    Row("f", "MonoGAN", (39.9, 46.9, 44.5, 38.8), "pretrain", "monogan", "image_b"),
))

SOURCES = Table("sources", "Table S (ours): which single source teaches most? MonoGAN, all augmentations, CIFAR-10 linear probes",
                "cifar10", "cifar", CIFAR_TAPS, (
    Row("random", "Random feat.", None, "random"),
    Row("critic", "Random critic", None, "random-critic", note="MonoGAN's critic at init: the random trunk every other row starts from"),
    Row("image_a", "Image A (the paper's)", None, "pretrain", "monogan", "image_a"),
    Row("image_b", "Image B (the paper's)", None, "pretrain", "monogan", "image_b", note="the run of Table 1 (j)"),
    Row("astronaut", "Photo: astronaut", None, "pretrain", "monogan", "skimage:astronaut",
        note="photographs bundled with scikit-image (public domain / CC0)"),
    Row("chelsea", "Photo: cat", None, "pretrain", "monogan", "skimage:chelsea"),
    Row("coffee", "Photo: coffee", None, "pretrain", "monogan", "skimage:coffee"),
    Row("deadleaves", "Dead leaves", None, "pretrain", "monogan", "synthetic:deadleaves",
        note="synthetic sources (`monossl.data.synthetic`): dead leaves (Baradad et al. 2021), IFS fractals (Kataoka et al. "
             "2020), 1/f^α coloured noise; one rendered image each"),
    Row("fractal", "Fractal", None, "pretrain", "monogan", "synthetic:fractal"),
    Row("noise", "Coloured noise", None, "pretrain", "monogan", "synthetic:noise"),
    Row("hubble", "Photo: Hubble deep field", None, "pretrain", "monogan", "skimage:hubble_deep_field",
        note="sources added to widen the spread that `monossl rank` is validated on: a dark sky, a dense texture, a "
             "motion-blurred and nearly uniform photograph, handwriting on lined paper (the last three grey)"),
    Row("grass", "Photo: grass (grey)", None, "pretrain", "monogan", "skimage:grass"),
    Row("clock", "Photo: blurred clock (grey)", None, "pretrain", "monogan", "skimage:clock"),
    Row("text", "Handwriting (grey)", None, "pretrain", "monogan", "skimage:text"),
    Row("coins", "Photo: coins (grey)", None, "pretrain", "monogan", "skimage:coins",
        note="held-out sources for `monossl rank`'s edge-density score, chosen and their order predicted before any "
             "was trained (docs/research/sources.md, 2026-12-07)"),
    Row("camera", "Photo: cameraman (grey)", None, "pretrain", "monogan", "skimage:camera"),
    Row("page", "Scanned printed page (grey)", None, "pretrain", "monogan", "skimage:page"),
    Row("ihc", "Photo: stained tissue (IHC)", None, "pretrain", "monogan", "skimage:immunohistochemistry"),
    Row("brick", "Photo: brick wall (grey)", None, "pretrain", "monogan", "skimage:brick"),
    Row("rocket", "Photo: rocket launch", None, "pretrain", "monogan", "skimage:rocket"),
    Row("retina", "Photo: retina (fundus)", None, "pretrain", "monogan", "skimage:retina"),
    Row("moon", "Photo: moon surface (grey)", None, "pretrain", "monogan", "skimage:moon"),
))

def distill_table(dataset: str = "cifar10") -> Table:
    """Table D (ours): a classifier of `dataset` distilled into a random student from one image, from others, and
    from no image; the student's top-1 on the test set, its agreement with the teacher, and the share of the
    teacher's accuracy it recovers."""
    name = "distill" if dataset == "cifar10" else f"distill-{dataset}"
    upper = "CIFAR-10" if dataset == "cifar10" else "CIFAR-100"
    return Table(name, f"Table D (ours): distilling a {upper} classifier from one image (student top-1 on the test set)",
                 dataset, "cifar", (), (
        Row("teacher", "Teacher: supervised on the labels", None, "pretrain", "supervised", dataset,
            note=f"the supervised CIFAR trunk and its linear head, trained on {upper}'s labels (Table 1 (a) for CIFAR-10)"),
        Row("dataset", f"Student from {upper}'s training images", None, "pretrain", "distill", dataset,
            note="the upper bound: the real training images, without their labels"),
        Row("image_a", "Student from Image A", None, "pretrain", "distill", "image_a"),
        Row("image_b", "Student from Image B", None, "pretrain", "distill", "image_b"),
        Row("astronaut", "Student from a photo (astronaut)", None, "pretrain", "distill", "skimage:astronaut"),
        Row("deadleaves", "Student from dead leaves", None, "pretrain", "distill", "synthetic:deadleaves"),
        Row("fractal", "Student from a fractal", None, "pretrain", "distill", "synthetic:fractal"),
        Row("noise", "Student from coloured noise", None, "pretrain", "distill", "synthetic:noise"),
        Row("gaussian", "Student from pure Gaussian noise", None, "pretrain", "distill", "gaussian-noise",
            note="the lower bound: i.i.d. pixel noise, no image at all"),
    ), extra=("student", "agreement"), measure="classifier", relative=("student", "teacher"))


DISTILL = distill_table("cifar10")

JOINT_EMBEDDING, METHODS_2019 = ("simclr", "dino"), ("rotnet", "deepcluster", "monogan", "bigan")
METHODS = Table("methods", "Table M (ours): which method learns most from one image at equal CPU-minutes? Image B, "
                "CIFAR-10 linear and kNN probes", "cifar10", "cifar", CIFAR_TAPS, (
    Row("supervised", "Supervised on CIFAR-10's labels", None, "pretrain", "supervised", "cifar10",
        note="the supervised trunk trained for the rows' CPU-minutes, not to convergence (Table 1 (a) trains ~3x longer)"),
    Row("random", "Random feat.", None, "random", note="the paper's Random row (the ReLU trunk at init): the one RotNet, SimCLR and DINO are held against"),
    Row("sobel", "Random feat. behind Sobel", None, "random-sobel", note="DeepCluster's random trunk (grey gradients in)"),
    Row("rc", "Random critic", None, "random-critic", note="MonoGAN's critic at its init"),
    Row("leaky", "Random feat., LeakyReLU", None, "random-leaky", note="BiGAN's encoder at its init (LeakyReLU in place of ReLU)"),
    *(Row(m, label, None, "pretrain", m, "image_b") for m, label in (
        ("rotnet", "RotNet"), ("deepcluster", "DeepCluster"), ("monogan", "MonoGAN"), ("bigan", "BiGAN"),
        ("simclr", "SimCLR"))),
    Row("dino", "DINO", None, "pretrain", "dino", "image_b",
        note="in a short run (the cpu budget's 200 steps) its centred, sharpened target starts near uniform and its kNN "
             "accuracy stays at the random trunk's (docs/research/methods.md)"),
), extra=tuple(f"knn_{t}" for t in CIFAR_TAPS), family="methods", knn=True)
MATCHING_RANDOM = {"rotnet": "random", "deepcluster": "sobel", "monogan": "rc", "bigan": "leaky", "simclr": "random",
                   "dino": "random"}

TABLES = {t.name: t for t in (TABLE1, TABLE2, TABLE3, TABLE4, SOURCES, DISTILL, distill_table("cifar100"), METHODS)}
