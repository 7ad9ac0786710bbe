"""`PretrainConfig`: everything a pretraining run depends on, written to RUN/config.json. No torch here."""
from __future__ import annotations

from dataclasses import dataclass, field

from monossl.data.inputs import TrainInput
from monossl.errors import OptionError, UserError
from monossl.nets.archs import ARCH_NAMES
from monossl.options import Options, build, nested, option, to_dict

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("32-true", "bf16-mixed", "16-mixed", "bf16-true", "16-true", "64-true")  # Lightning Fabric's
LOGGERS = ("none", "csv", "tensorboard")
# settings that may change between a run and its --resume (and `out`: a run folder may move)
RESUMABLE = ("out", "workers", "device", "epochs", "logger")


@dataclass
class PretrainConfig(Options):
    method: str | None = option(None, "pretraining method", cli=False)
    out: str | None = option(None, "run folder (required)", metavar="RUN_DIR")
    input: TrainInput = nested(TrainInput, "input (exactly one of --source, --patches, --dataset, --folder)")
    arch: str = option("cifar", "trunk architecture", choices=ARCH_NAMES)
    epochs: int = option(10, "epochs", low=1)
    batch_size: int = option(128, "batch size (per process)", low=1)
    seed: int = option(0, "random seed: the same seed gives the same weights", low=0)
    device: str = option("auto", "where to train", choices=DEVICES)
    devices: int = option(1, "processes per node (DDP when more than 1)", low=1)
    nodes: int = option(1, "nodes, each running this command under torchrun or `fabric run`", low=1)
    precision: str = option("32-true", "Fabric precision (bf16-mixed on GPUs and recent CPUs)", choices=PRECISIONS)
    workers: int = option(2, "data-loading workers", low=0)
    logger: str = option("none", "a Fabric logger beside metrics.jsonl (tensorboard: pip install tensorboard)",
                         choices=LOGGERS)
    knn_every: int = option(0, "online kNN: evaluate the trunk's taps every N epochs into metrics.jsonl (0: never)", low=0)
    knn_dataset: str = option("cifar10", "online kNN: the labelled set", choices=("cifar10", "cifar100"))
    knn_train: int = option(10000, "online kNN: training images of the set (a seeded subset)", low=1)
    knn_test: int = option(2000, "online kNN: test images of the set (a seeded subset)", low=1)
    hparams: dict = field(default_factory=dict, metadata={"hparams": True})  # the method's own options (its Hparams)

    def validate(self) -> "PretrainConfig":
        from monossl.methods import METHODS

        if self.method not in METHODS:
            raise OptionError("method", self.method, f"unknown method; choose one of {', '.join(METHODS)}")
        if self.knn_every:
            from monossl.nets.archs import WHOLE_PATCH

            if self.arch not in WHOLE_PATCH:
                raise OptionError("knn_every", self.knn_every, f"online kNN scores 32-px CIFAR images, which {self.arch} "
                                  f"cannot take; use it with {', '.join(WHOLE_PATCH)}")
        if self.nodes > 1 and not launched():
            raise UserError(f"--nodes {self.nodes}: a multi-node run is started on every node by a distributed launcher "
                            "(torchrun --nnodes N ... or `fabric run --num-nodes N`); run this command under one")
        return self

    def method_hparams(self):
        """The method's options (its `Hparams` dataclass) from `hparams`, checked."""
        from monossl.methods import METHODS

        return build(METHODS[self.method].hparams, self.hparams or {})

    def to_dict(self) -> dict:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict, source: str = "api") -> "PretrainConfig":
        """A config.json (today's shape, or the first release's with the input fields at the top level)."""
        return build(cls, upgrade(data), source=source, hparams=hparams_class)

    @staticmethod
    def from_file(data: dict, method: str) -> dict:
        """`pretrain METHOD --config FILE`: the file in today's shape, refused when it configures another method."""
        if data.get("method", method) != method:
            raise UserError(f"--config: it configures {data['method']!r}, not {method!r}; run `monossl pretrain "
                            f"{data['method']}`")
        return upgrade(data)


def upgrade(data: dict) -> dict:
    """A config of the first release (input fields beside the method) in today's shape; others as they are."""
    data = dict(data)
    legacy_keys = ("sources", "patches", "dataset", "folder", "count", "endless", "augment", "data_root")
    if "input" not in data and any(k in data for k in (*legacy_keys, "size")) and "method" in data:
        legacy = {k: data.pop(k) for k in legacy_keys if k in data}
        legacy["augment"] = {**legacy.get("augment", {}), "size": data.pop("size", 32)}
        data["input"] = legacy
    return data


def hparams_class(values: dict):
    """The options class of the `hparams` of a config whose method is `values["method"]` (None when unknown)."""
    from monossl.methods import METHODS

    method = METHODS.get(values.get("method"))
    return method.hparams if method else None


def launched() -> bool:
    """Whether this process was started by a distributed launcher (torchrun, `fabric run`, SLURM, MPI)."""
    import os

    return any(k in os.environ for k in ("LOCAL_RANK", "RANK", "SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE"))
