"""Every command: its options (a dataclass each, the one home of their defaults and help) and the library function
that runs it. `monossl.cli` builds the command line from this registry, `monossl.api` the Python calls; neither
spells an option. Nothing here imports torch, so `--help` and bad values are answered at once.

A command's function takes the options instance (and `resume=` when the command resumes) and returns the text
the command line prints, or None.
"""
from __future__ import annotations

from dataclasses import dataclass

from monossl.data.augment import AugmentConfig
from monossl.data.inputs import DATA_ROOT
from monossl.errors import UserError, opt
from monossl.nets.archs import ARCH_NAMES
from monossl.options import Options, nested, option
from monossl.probes.config import PRESETS, ProbeConfig

BASELINE_NAMES = ("random", "random-critic", "random-critic-smooth", "random-critic-wgan-gp", "random-smooth", "random-sobel",
                  "random-sobel-smooth", "random-leaky", "kraehenbuehl")
TRUNK_HELP = ("a run folder, a trunk checkpoint, an exported folder, or a baseline: " + ", ".join(BASELINE_NAMES))
TABLE_NAMES = ("table1", "table2", "table3", "table4", "sources", "distill", "methods")
BUDGET_NAMES = ("smoke", "cpu", "paper")


@dataclass(frozen=True)
class Command:
    summary: str  # one line, in `monossl --help`
    options: type  # the options dataclass
    run: str  # "module:function"
    description: str = ""  # a sentence or two and the paper's section
    docs: str = "docs/usage.md"
    resumable: bool = False  # takes --resume
    config: bool = True  # takes --config FILE
    method: str | None = None  # a pretraining run of this method (options: PretrainConfig and the method's own)


@dataclass(frozen=True)
class GenerateOptions(Options):
    sources: tuple[str, ...] = option((), "image files, folders, or source specs (cifar10:N, folder:DIR:N, paper:image_a, "
                                      "skimage:NAME, synthetic:KIND[:N])", positional=True, nargs="+", metavar="SOURCE")
    count: int | None = option(None, "number of patches D (required)", low=1)
    out: str | None = option(None, "output folder (required)", metavar="DIR")
    seed: int = option(0, "random seed: the same seed gives the same bytes", low=0)
    format: str = option("npy", "npy: DIR/patches.npy; png: DIR/train/patches/*.png", choices=("npy", "png"))
    workers: int = option(0, "worker processes (0: in the main process)", low=0)
    data_root: str | None = option(None, "dataset root for cifar10:N sources", metavar="DIR", shown=DATA_ROOT)
    augment: AugmentConfig = nested(AugmentConfig, "augmentation (§3.1)")

    def validate(self):
        if not self.sources:
            raise UserError("give at least one SOURCE")
        if self.count is None:
            raise UserError(f"{opt('count')} D is required: the number of patches")
        if not self.out:
            raise UserError(f"{opt('out')} DIR is required")
        return self


@dataclass(frozen=True)
class ProbeOptions(Options):
    trunk: str = option("", TRUNK_HELP, positional=True, metavar="TRUNK")
    dataset: str | None = option(None, "cifar10, cifar100 or folder:TRAIN_DIR,VAL_DIR (required)")
    out: str | None = option(None, "result JSON path; a Markdown table is written beside it (required)", metavar="FILE")
    arch: str | None = option(None, "architecture (read from the checkpoint when it records one; baselines: cifar)",
                              choices=ARCH_NAMES)
    data_root: str | None = option(None, "dataset root", metavar="DIR", shown=DATA_ROOT)
    preset: str = option("paper", "protocol preset: paper (÷5 at 5/15/25) or linear-probes (÷10 at 10/20/30, wd 1e-5); "
                         "options given beside it win", choices=tuple(PRESETS))
    taps: tuple[str, ...] = option((), "comma-separated taps", shown="all")
    seeds: tuple[int, ...] = option((), "comma-separated seeds, e.g. 0,1,2: mean and std per tap", low=0,
                                    shown="the protocol's seed")
    knn: bool = option(False, "also a weighted kNN classifier on each tap's pooled features (k, temperature below)")
    knn_only: bool = option(False, "the kNN classifier alone, no linear probe")
    knn_k: int = option(200, "kNN: neighbours that vote (200: InstDisc / lightly; 20: solo-learn)", low=1)
    knn_temperature: float = option(0.1, "kNN: temperature of the exp(similarity / T) votes", above=0)
    knn_pool: int = option(1, "kNN: each tap average-pooled to POOL x POOL positions (1: global average pooling)",
                           low=1)
    workers: int = option(2, "data-loading workers for image folders", low=0)
    protocol: ProbeConfig = nested(ProbeConfig, "probe protocol (§4.1; defaults: the preset's)")

    def validate(self):
        if not self.trunk:
            raise UserError("give the TRUNK to probe: " + TRUNK_HELP)
        if not self.dataset:
            raise UserError(f"{opt('dataset')} is required: cifar10, cifar100 or folder:TRAIN_DIR,VAL_DIR")
        if not self.out:
            raise UserError(f"{opt('out')} FILE is required (a result JSON path)")
        if len(set(self.seeds)) != len(self.seeds):
            raise UserError(f"{opt('seeds')} {','.join(map(str, self.seeds))}: give distinct seeds")
        return self

    @staticmethod
    def from_file(data: dict, path=None) -> dict:
        """A probe result JSON reruns as its protocol, dataset, taps and seeds; other files are settings."""
        if not (isinstance(data.get("taps"), dict) and isinstance(data.get("protocol"), dict)):
            return data
        from dataclasses import fields

        protocol = data["protocol"]
        out = {"protocol": {f.name: protocol[f.name] for f in fields(ProbeConfig) if f.name in protocol}}
        if isinstance(data.get("dataset"), str):
            out["dataset"] = data["dataset"]
        if isinstance(protocol.get("seeds"), list):
            out["seeds"] = protocol["seeds"]
        out["taps"] = list(data["taps"])
        return out

    @staticmethod
    def layered(tree: dict) -> dict:
        """The chosen preset's protocol under what was given."""
        from monossl.options import to_dict

        return {"protocol": to_dict(PRESETS[tree.get("preset", "paper")])} if tree.get("preset", "paper") in PRESETS else {}


@dataclass(frozen=True)
class ReproduceOptions(Options):
    table: str | None = option(None, "which table; ours: `sources` (Table S: one MonoGAN from many sources), `distill` "
                               "(Table D: a classifier distilled from one image), `methods` (Table M: every method from one image at equal "
                               "CPU-minutes, linear and kNN probes)", positional=True, choices=TABLE_NAMES)
    budget: str = option("cpu", "smoke (minutes, CI; judges nothing), cpu (a laptop: 5-20 CPU-min a row), paper (GPU)",
                         choices=BUDGET_NAMES)
    out: str | None = option(None, "output folder (required)", metavar="DIR")
    data_root: str | None = option(None, "CIFAR root", metavar="DIR", shown=DATA_ROOT)
    imagenet: str | None = option(None, "an ImageNet-layout root with train/ and val/ class folders (Table 2)",
                                  metavar="DIR")
    images: str | None = option(None, "folder with the paper's image_a.jpg and image_b.png", metavar="DIR",
                                shown="$MONOSSL_IMAGES, else fetched once into the data root")
    rows: tuple[str, ...] = option((), "comma-separated row letters", shown="all")
    seeds: tuple[int, ...] = option((), "comma-separated seeds to run the rows at; the report shows mean ± std over "
                                    "every seed found", low=0, shown="0")
    device: str = option("auto", "where to train", choices=("auto", "cpu", "cuda"))
    workers: int = option(2, "data-loading workers", low=0)
    report_only: bool = option(False, "run nothing: render the reports again from OUT/tableN.json and OUT/probes")
    dataset: str = option("cifar10", "Table D only: the teacher's dataset (cifar100: Table D on CIFAR-100)",
                          choices=("cifar10", "cifar100"))

    def validate(self):
        if not self.table:
            raise UserError(f"give the TABLE to reproduce: {', '.join(TABLE_NAMES)}")
        if not self.out:
            raise UserError(f"{opt('out')} DIR is required")
        return self


@dataclass(frozen=True)
class DemoOptions(Options):
    out: str = option("demo_out", "output folder", metavar="DIR")
    data_root: str | None = option(None, "CIFAR-10 root",
                                   metavar="DIR", shown=f"{DATA_ROOT}, else download")
    source: str | None = option(None, "an image of your own (any source spec) instead of the built-in one",
                                metavar="SPEC")
    seed: int = option(0, "random seed", low=0)
    workers: int = option(0, "data-loading workers", low=0)
    quick: bool = option(False, "a one-minute smoke run of the whole pipeline (tiny training and probes; no margin to read)")


@dataclass(frozen=True)
class CurveOptions(Options):
    runs: tuple[str, ...] = option((), "`monossl pretrain` run folder(s)", positional=True, nargs="+",
                                   metavar="RUN_DIR")
    dataset: str = option("cifar10", "probe dataset", choices=("cifar10", "cifar100"))
    data_root: str | None = option(None, "dataset root", metavar="DIR", shown=DATA_ROOT)
    every: int = option(1, "probe every N-th snapshot (the last one always)", low=1)
    taps: tuple[str, ...] = option((), "comma-separated taps", shown="all")
    compare: str | None = option(None, "also draw all the runs' curves on shared axes in this PNG", metavar="PNG")

    def validate(self):
        if not self.runs:
            raise UserError("give at least one RUN_DIR")
        return self


@dataclass(frozen=True)
class RankOptions(Options):
    images: tuple[str, ...] = option((), "image files, folders or any source spec (synthetic:noise, ...)", positional=True,
                                     nargs="+", metavar="IMAGE")
    count: int = option(512, "patches drawn per image", low=16)
    seed: int = option(0, "random seed", low=0)
    out: str | None = option(None, "also write the ranking as JSON here", metavar="FILE")

    def validate(self):
        if not self.images:
            raise UserError("give at least one IMAGE to rank")
        return self


@dataclass(frozen=True)
class VizOptions(Options):
    trunk: str = option("", TRUNK_HELP, positional=True, metavar="TRUNK")
    out: str | None = option(None, "output PNG (required)", metavar="PNG")
    arch: str | None = option(None, "architecture for plain state_dicts and baselines", choices=ARCH_NAMES)
    seed: int = option(0, "random seed (unit choice, initialisation)", low=0)

    def validate(self):
        if not self.trunk:
            raise UserError("give the TRUNK: " + TRUNK_HELP)
        if not self.out:
            raise UserError(f"{opt('out')} PNG is required")
        return self


@dataclass(frozen=True)
class ActmaxOptions(VizOptions):
    layer: str = option("conv2", "tap whose units are maximised")
    units: tuple[int, ...] = option((), "comma-separated units", low=0, shown="random ones")
    size: int = option(128, "image side in pixels", low=16)
    steps: int = option(256, "optimisation steps", low=1)


@dataclass(frozen=True)
class RetrievalOptions(VizOptions):
    layer: str = option("conv2", "tap whose units rank the images")
    units: tuple[int, ...] = option((), "comma-separated units", low=0, shown="random ones")
    dataset: str = option("cifar10", "cifar10, cifar100 or folder:DIR")
    data_root: str | None = option(None, "dataset root", metavar="DIR")


@dataclass(frozen=True)
class StyleOptions(Options):
    content: str = option("", "content image", positional=True, metavar="CONTENT")
    style: str = option("", "style image", positional=True, metavar="STYLE")
    features: str = option("", "the trunk whose features define content and style (" + TRUNK_HELP + ")")
    compare: str | None = option(None, "a second trunk shown beside it, e.g. random", metavar="TRUNK")
    arch: str | None = option(None, "architecture for plain state_dicts and baselines", choices=ARCH_NAMES)
    size: int = option(256, "image side in pixels", low=16)
    steps: int = option(30, "L-BFGS steps (10 evaluations each)", low=1)
    style_layers: tuple[str, ...] = option((), "comma-separated taps", shown="every conv")
    content_layer: str | None = option(None, "tap for the content loss", shown="a middle one")
    style_weight: float = option(10.0, "weight of the (normalised) style loss", low=0)
    content_weight: float = option(1.0, "weight of the content loss", low=0)
    seed: int = option(0, "random seed", low=0)
    out: str | None = option(None, "output PNG (required)", metavar="PNG")

    def validate(self):
        if not (self.content and self.style):
            raise UserError("give a CONTENT and a STYLE image")
        if not self.features:
            raise UserError(f"{opt('features')} TRUNK is required")
        if not self.out:
            raise UserError(f"{opt('out')} PNG is required")
        return self


@dataclass(frozen=True)
class ExportOptions(Options):
    run: str = option("", "a finished run folder (or a trunk / classifier checkpoint)", positional=True, metavar="RUN")
    out: str | None = option(None, "the folder to write (new or empty)", metavar="DIR")
    format: str = option("safetensors", "safetensors: model.safetensors, config.json and a model card (the Hugging Face "
                         "Hub's layout); torchscript: also model.torchscript.pt", choices=("safetensors", "torchscript"))

    def validate(self):
        if not self.run:
            raise UserError("give the RUN to export")
        if not self.out:
            raise UserError(f"{opt('out')} DIR is required")
        return self


COMMANDS: dict[str, Command | dict[str, Command]] = {
    "generate": Command("turn N source images into D patches on disk (§3.1)", GenerateOptions,
                        "monossl.data.patches:generate",
                        "Cut D training patches from N source images with the paper's augmentation protocol (§3.1); "
                        "patch i comes from source i mod N.", "docs/usage.md#monossl-generate", resumable=True),
    "pretrain": {},  # one subcommand a method: filled from monossl.methods.METHODS (see `pretrain_commands`)
    "probe": Command("linear probes (and kNN) on every conv layer of a frozen trunk (§4.1)", ProbeOptions,
                     "monossl.probes.linear:probe_command",
                     "Train a linear probe (BatchNorm + linear) on every tap of a frozen trunk and report top-1/top-5 "
                     "(§4.1); --knn adds a weighted kNN classifier.", "docs/usage.md#monossl-probe", resumable=True),
    "reproduce": Command("run the paper's Tables 1-4 (and ours) beside the paper's numbers", ReproduceOptions,
                         "monossl.reproduce.runner:reproduce_command",
                         "Run a table's rows (pretraining, then probes) at a budget and write OUT/tableN.{json,md,csv,png}; "
                         "rerunning re-uses finished rows and resumes interrupted ones.", "docs/usage.md#monossl-reproduce"),
    "demo": Command("the main job on built-in defaults: one image, MonoGAN, probes against random, report", DemoOptions,
                    "monossl.demo:demo_command",
                    "Patches from a built-in photograph, the recipe that learns most per CPU-minute, CIFAR-10 probes "
                    "beside a random trunk, and a report with figures.", "docs/usage.md#monossl-demo"),
    "curve": Command("learning curve of a run: quick probes of its snapshots against CPU-minutes", CurveOptions,
                     "monossl.curves:curve_command",
                     "Probe every epoch snapshot of a run with the quick protocol beside its random trunk and plot "
                     "top-1 against CPU-minutes.", "docs/usage.md#monossl-curve"),
    "rank": Command("patch statistics of candidate source images, scored by edge density (not a predictor)",
                    RankOptions, "monossl.rank:rank_command",
                    "Statistics of each candidate's §3.1 patches, in seconds, sorted by edge density. Not a predictor "
                    "of which photograph teaches most: checked against trained sources its Spearman with the conv2 "
                    "probe stays below 0.7 (docs/results/sources.md).", "docs/usage.md#monossl-rank"),
    "viz": {
        "filters": Command("all conv1 filters as a grid, each scaled to (-1, 1) (Fig. 4)", VizOptions,
                           "monossl.viz.filters:filters_command"),
        "actmax": Command("activation maximisation with a Fourier, decorrelated-colour image (Fig. 5)", ActmaxOptions,
                          "monossl.viz.actmax:actmax_command"),
        "retrieval": Command("the 9 dataset images that activate each unit most (Fig. 5)", RetrievalOptions,
                             "monossl.viz.retrieval:retrieval_command"),
    },
    "distill": None,  # `pretrain distill` under its own name: filled below
    "export": Command("export a trunk (or classifier) as safetensors or TorchScript, with a model card", ExportOptions,
                      "monossl.nets.export:export_command",
                      "Write a run's trunk (and the head of supervised and distilled runs) as model.safetensors with a "
                      "config.json and a README.md model card, the Hugging Face Hub's layout, and optionally TorchScript.",
                      "docs/usage.md#monossl-export"),
    "style": Command("Gatys style transfer with a trunk's features (Fig. 6)", StyleOptions, "monossl.viz.style:style_command",
                     "Gatys et al. style transfer: Gram-matrix style losses and a content loss on a trunk's taps, "
                     "optimised with L-BFGS (Fig. 6)."),
}
COMMANDS["distill"] = Command(
    "distil a teacher into a random student from one image (Asano & Saeed 2023)", None, "monossl.methods:pretrain_command",
    "Train a randomly initialised student to imitate a trained classifier on the §3.1 patches of a single image "
    "(KL at temperature T on CutMixed views), scored each epoch on the teacher's test set.", "docs/usage.md#monossl-distill",
    resumable=True, method="distill")
SUMMARIES = {"pretrain": "pretrain a trunk: rotnet, deepcluster, monogan, bigan, supervised (§3.2), simclr, dino, distill",
             "viz": "conv1 filters, activation maximisation, top-9 retrieval (§4.4)"}


def pretrain_commands() -> dict[str, Command]:
    """One `pretrain` subcommand a method of the registry (`monossl.methods.METHODS`)."""
    from monossl.methods import METHODS
    from monossl.methods.config import PretrainConfig

    return {name: Command(m.summary, PretrainConfig, "monossl.methods:pretrain_command", m.summary, m.docs, resumable=True,
                          method=name) for name, m in METHODS.items()}


def summary(name: str) -> str:
    entry = COMMANDS[name]
    return entry.summary if isinstance(entry, Command) else SUMMARIES[name]


__all__ = ["COMMANDS", "Command", "pretrain_commands", "summary"]
