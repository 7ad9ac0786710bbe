"""Linear probes on every tap of a frozen trunk (§4.1): the paper's yardstick.

Each probe is BatchNorm1d(affine=False) then a linear layer, placed after its ReLU; all taps are
probed at once. BatchNorm in the trunk is absorbed into the preceding convs first.

* CIFAR (no augmentation, §4.1): taps at full resolution. The frozen trunk's features are extracted
  once (fp16, spilled to a memory map beyond `memory_budget`) and every probe trains on them. The
  probes' BatchNorm uses the training set's statistics, fixed: with a frozen trunk and no
  augmentation, these are what batch statistics estimate (`bn_stats="batch"` uses per-batch ones).
* Image folders (ImageNet layout): each tap is adaptive-max-pooled to about 9600 dims (9600/9216/
  9600/9600/9216 for AlexNet), training images are resized to 256, randomly cropped to 224 and
  flipped; evaluation averages the scores of ten crops.
Schedule (paper preset): SGD with momentum 0.9, 36 epochs, lr 0.01 divided by 5 at epochs 5, 15, 25.
"""
from __future__ import annotations

import math
import sys
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from monossl.errors import UserError
from monossl.nets.trunk import Trunk, absorb_batchnorm, prepare_input
from monossl.rundir import atomic_torch_save, atomic_write_text, write_json


@dataclass(frozen=True)
class ProbeConfig:
    epochs: int = 36
    lr: float = 0.01
    milestones: tuple[int, ...] = (5, 15, 25)
    lr_factor: float = 0.2  # lr is multiplied by this at each milestone ("divided by 5")
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    batch_size: int = 192
    pool_target: int = 9600  # pooled dims per tap on image folders; CIFAR uses full resolution
    seed: int = 0
    memory_budget_gb: float = 8.0  # cached features beyond this go to a memory map on disk
    train_limit: int | None = None  # probe on a seeded subset (quick checks); None: the whole split
    test_limit: int | None = None
    bn_stats: str = "population"  # CIFAR probes' BatchNorm: fixed training-set statistics, or "batch"

    def lr_at(self, epoch: int) -> float:
        return self.lr * self.lr_factor ** sum(epoch >= m for m in self.milestones)


PRESETS = {
    "paper": ProbeConfig(),
    "linear-probes": ProbeConfig(milestones=(10, 20, 30), lr_factor=0.1, weight_decay=1e-5),
}


def pool_size(channels: int, target: int) -> int:
    """Side of the adaptive max-pool that brings a tap near `target` dims (9600 -> 10, 6, 5, 5, 6 on AlexNet)."""
    return max(1, round(math.sqrt(target / channels)))


class TapFeatures(nn.Module):
    """Frozen trunk (BN absorbed) -> {tap: flat features}, optionally max-pooled to ~pool_target dims."""

    def __init__(self, trunk: Trunk, taps: list[str], norm: str = "unit", pool_target: int | None = None):
        super().__init__()
        self.trunk = absorb_batchnorm(trunk)
        self.taps = self.trunk.check_taps(taps)
        self.norm = norm
        shapes = self.trunk.tap_shapes(self.taps)
        self.pools = {t: (pool_size(shapes[t][0], pool_target) if pool_target else None) for t in self.taps}
        self.dims = {t: shapes[t][0] * (self.pools[t] ** 2 if self.pools[t] else shapes[t][1] * shapes[t][2]) for t in self.taps}

    @torch.no_grad()
    def forward(self, images_uint8: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.trunk(prepare_input(images_uint8, self.norm), self.taps)
        return {t: (F.adaptive_max_pool2d(v, self.pools[t]) if self.pools[t] else v).flatten(1) for t, v in out.items()}


class LinearProbes(nn.Module):
    """One BatchNorm1d(affine=False) + Linear per tap."""

    def __init__(self, dims: dict[str, int], num_classes: int):
        super().__init__()
        self.heads = nn.ModuleDict({t: nn.Sequential(nn.BatchNorm1d(d, affine=False), nn.Linear(d, num_classes))
                                    for t, d in dims.items()})

    def forward(self, feats: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {t: self.heads[t](x) for t, x in feats.items()}


def topk_correct(logits: torch.Tensor, labels: torch.Tensor) -> tuple[int, int]:
    top = logits.topk(min(5, logits.shape[1]), dim=1).indices
    return int((top[:, 0] == labels).sum()), int((top == labels[:, None]).any(1).sum())


def extract(features: TapFeatures, images: np.ndarray, config: ProbeConfig, scratch: Path | None,
            desc: str, batch_size: int = 500) -> dict[str, np.ndarray]:
    """Features of uint8 NHWC images for every tap, as fp16 arrays (memory maps beyond the budget)."""
    n = len(images)
    total = n * sum(features.dims.values()) * 2
    spill = total > config.memory_budget_gb * 2**30
    out = {}
    for t, d in features.dims.items():
        if spill:
            out[t] = np.lib.format.open_memmap(Path(tempfile.mkdtemp(dir=scratch)) / f"{t}.npy", "w+", np.float16, (n, d))
        else:
            out[t] = np.empty((n, d), np.float16)
    for start in tqdm(range(0, n, batch_size), desc=desc, unit="batch", disable=not sys.stderr.isatty(), leave=False):
        batch = torch.from_numpy(np.ascontiguousarray(images[start:start + batch_size])).permute(0, 3, 1, 2)
        for t, v in features(batch).items():
            out[t][start:start + len(v)] = v.half().numpy()
    return out


def population_stats(feats: np.ndarray, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    sum_x, sum_xx = np.zeros(feats.shape[1]), np.zeros(feats.shape[1])
    for start in range(0, len(feats), chunk):
        x = feats[start:start + chunk].astype(np.float64)
        sum_x += x.sum(0)
        sum_xx += (x * x).sum(0)
    mean = sum_x / len(feats)
    var = np.maximum(sum_xx / len(feats) - mean**2, 0)
    return torch.from_numpy(mean).float(), torch.from_numpy(var).float()


@dataclass
class ProbeResult:
    taps: dict[str, dict[str, float]]
    dataset: str
    trunk: str
    protocol: dict = field(default_factory=dict)

    def to_markdown(self) -> str:
        names = list(self.taps)
        head = "| metric | " + " | ".join(names) + " |\n|---|" + "---|" * len(names) + "\n"
        rows = [f"| {m} | " + " | ".join(f"{self.taps[t][m]:.1f}" for t in names) + " |" for m in ("top1", "top5")]
        return f"Linear probes: {self.trunk} on {self.dataset}\n\n" + head + "\n".join(rows) + "\n"


def probe_arrays(trunk: Trunk, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], num_classes: int,
                 taps: list[str] | None = None, config: ProbeConfig = ProbeConfig(), norm: str = "unit",
                 state_path: Path | None = None, resume: bool = False) -> dict[str, dict[str, float]]:
    """Probe every tap on in-memory images (CIFAR): extract once, then train all probes on the cache."""
    torch.manual_seed(config.seed)
    features = TapFeatures(trunk, taps or trunk.tap_names, norm=norm, pool_target=None)
    scratch = state_path.parent if state_path else None
    train_feats = extract(features, train[0], config, scratch, "features (train)")
    test_feats = extract(features, test[0], config, scratch, "features (test)")
    probes = LinearProbes(features.dims, num_classes)
    for t, head in probes.heads.items():
        head[0].running_mean, head[0].running_var = population_stats(train_feats[t])
    if config.bn_stats not in ("population", "batch"):
        raise UserError(f"bn_stats {config.bn_stats}: choose population or batch")
    probes.train(config.bn_stats == "batch")  # population: fixed training-set statistics (module docstring)
    labels = torch.from_numpy(train[1]).long()
    optimiser, start = make_optimiser(probes, config), 0
    if resume and state_path and state_path.exists():
        start = load_state(state_path, probes, optimiser)
    n = len(labels)
    for epoch in epoch_range(config, start):
        set_lr(optimiser, config.lr_at(epoch))
        order = torch.randperm(n, generator=torch.Generator().manual_seed(config.seed * 100003 + epoch))
        for batch in order.split(config.batch_size):
            rows = np.sort(batch.numpy())
            logits = probes({t: torch.from_numpy(f[rows]).float() for t, f in train_feats.items()})
            loss = sum(F.cross_entropy(v, labels[rows]) for v in logits.values())
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        save_state(state_path, epoch, probes, optimiser)
    probes.eval()
    return evaluate_cached(probes, test_feats, torch.from_numpy(test[1]).long())


@torch.no_grad()
def evaluate_cached(probes: LinearProbes, feats: dict[str, np.ndarray], labels: torch.Tensor, chunk: int = 2000):
    correct = {t: [0, 0] for t in feats}
    for start in range(0, len(labels), chunk):
        logits = probes({t: torch.from_numpy(f[start:start + chunk]).float() for t, f in feats.items()})
        for t, v in logits.items():
            c1, c5 = topk_correct(v, labels[start:start + chunk])
            correct[t][0] += c1
            correct[t][1] += c5
    return {t: {"top1": 100 * c[0] / len(labels), "top5": 100 * c[1] / len(labels)} for t, c in correct.items()}


def make_optimiser(probes: nn.Module, config: ProbeConfig) -> torch.optim.Optimizer:
    return torch.optim.SGD(probes.parameters(), lr=config.lr, momentum=config.momentum,
                           nesterov=config.nesterov, weight_decay=config.weight_decay)


def set_lr(optimiser, lr: float) -> None:
    for group in optimiser.param_groups:
        group["lr"] = lr


def epoch_range(config: ProbeConfig, start: int):
    return tqdm(range(start, config.epochs), desc="probes", unit="epoch", initial=start, total=config.epochs,
                disable=not sys.stderr.isatty())


def save_state(path: Path | None, epoch: int, probes: nn.Module, optimiser) -> None:
    """After each epoch: what `--resume` needs to continue exactly where the run stopped."""
    if path:
        atomic_torch_save({"epoch": epoch + 1, "probes": probes.state_dict(), "optim": optimiser.state_dict()}, path)


def load_state(path: Path, probes: nn.Module, optimiser) -> int:
    state = torch.load(path, map_location="cpu", weights_only=False)
    probes.load_state_dict(state["probes"])
    optimiser.load_state_dict(state["optim"])
    return int(state["epoch"])


def probe_folder(trunk: Trunk, train_dir: str, val_dir: str, taps: list[str] | None = None,
                 config: ProbeConfig = ProbeConfig(), norm: str = "unit", workers: int = 2,
                 state_path: Path | None = None, resume: bool = False) -> dict[str, dict[str, float]]:
    """Probe on an image folder with the augmented ImageNet protocol (random crops; ten-crop evaluation)."""
    from monossl.data.folder import ImageFolder

    torch.manual_seed(config.seed)
    crop = trunk.input_size
    train = ImageFolder(train_dir, crop=crop, train=True, seed=config.seed)
    val = ImageFolder(val_dir, crop=crop, train=False, classes=train.classes)
    pool = config.pool_target if crop > 64 else None
    features = TapFeatures(trunk, taps or trunk.tap_names, norm=norm, pool_target=pool)
    probes = LinearProbes(features.dims, len(train.classes))
    optimiser, start = make_optimiser(probes, config), 0
    if resume and state_path and state_path.exists():
        start = load_state(state_path, probes, optimiser)
    for epoch in epoch_range(config, start):
        set_lr(optimiser, config.lr_at(epoch))
        train.set_epoch(epoch)
        probes.train()
        loader = torch.utils.data.DataLoader(train, batch_size=config.batch_size, num_workers=workers,
                                             generator=torch.Generator().manual_seed(config.seed * 100003 + epoch),
                                             shuffle=True)
        for images, labels in loader:
            logits = probes(features(images))
            loss = sum(F.cross_entropy(v, labels) for v in logits.values())
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        save_state(state_path, epoch, probes, optimiser)
    probes.eval()
    correct = {t: [0, 0] for t in features.taps}
    with torch.no_grad():
        for crops, labels in torch.utils.data.DataLoader(val, batch_size=max(1, config.batch_size // 10), num_workers=workers):
            b, k = crops.shape[:2]
            logits = probes(features(crops.flatten(0, 1)))
            for t, v in logits.items():
                scores = v.softmax(1).view(b, k, -1).mean(1)
                c1, c5 = topk_correct(scores, labels)
                correct[t][0] += c1
                correct[t][1] += c5
    return {t: {"top1": 100 * c[0] / len(val), "top5": 100 * c[1] / len(val)} for t, c in correct.items()}


def resolve_trunk(spec: str, arch: str | None, dataset_images: np.ndarray | None, seed: int = 0):
    """A trunk for `monossl probe`: a run folder or checkpoint, `random`, or `kraehenbuehl`."""
    from monossl.nets.init import kraehenbuehl_init
    from monossl.nets.registry import build_trunk, load_trunk

    if spec in ("random", "kraehenbuehl"):
        if arch is None:
            raise UserError(f"{spec}: pass --arch cifar|alexnet|alexnet-small for a baseline trunk")
        trunk = build_trunk(arch).reset_parameters(seed)
        if spec == "kraehenbuehl":
            if dataset_images is None:
                raise UserError("kraehenbuehl: the data-dependent init needs in-memory training images (use a CIFAR dataset)")
            pick = np.random.default_rng(seed).choice(len(dataset_images), size=min(1024, len(dataset_images)), replace=False)
            sample = torch.from_numpy(dataset_images[np.sort(pick)]).permute(0, 3, 1, 2)
            kraehenbuehl_init(trunk, prepare_input(sample))
        return trunk, arch, {"init": spec, "seed": seed, "input_norm": "unit"}
    return load_trunk(spec, arch)


def run_probe(trunk_spec: str, dataset: str, out: str | Path, arch: str | None = None, data_root: str | None = None,
              taps: list[str] | None = None, config: ProbeConfig = ProbeConfig(), resume: bool = False,
              workers: int = 2) -> ProbeResult:
    """The `monossl probe` job: resolve the trunk and data, probe every tap, write OUT.json and OUT.md."""
    from monossl.data.cifar import load_cifar

    out = Path(out)
    if out.exists() and out.is_dir():
        raise UserError(f"{out}: is a folder; --out takes a file name such as result.json")
    state_path = out.with_name(out.name + ".state.pt")
    if out.exists() and not resume:
        raise UserError(f"{out}: exists; choose another --out or delete it")
    if dataset in ("cifar10", "cifar100"):
        train, test = load_cifar(dataset, data_root, train=True), load_cifar(dataset, data_root, train=False)
        train, test = subset(train, config.train_limit, config.seed), subset(test, config.test_limit, config.seed)
        trunk, arch, meta = resolve_trunk(trunk_spec, arch, train.images, config.seed)
        if arch != "cifar":
            raise UserError(f"{dataset}: 32-px images need the cifar trunk, not {arch}; probe AlexNets on an image folder")
        trunk.check_taps(taps or trunk.tap_names)
        out.parent.mkdir(parents=True, exist_ok=True)
        results = probe_arrays(trunk, (train.images, train.labels), (test.images, test.labels), train.num_classes,
                               taps, config, meta.get("input_norm", "unit"), state_path, resume)
    elif dataset.startswith("folder:"):
        dirs = dataset[len("folder:"):].split(",")
        if len(dirs) != 2:
            raise UserError(f"--dataset {dataset}: use folder:TRAIN_DIR,VAL_DIR")
        trunk, arch, meta = resolve_trunk(trunk_spec, arch, None, config.seed)
        trunk.check_taps(taps or trunk.tap_names)
        out.parent.mkdir(parents=True, exist_ok=True)
        results = probe_folder(trunk, dirs[0], dirs[1], taps, config, meta.get("input_norm", "unit"), workers,
                               state_path, resume)
    else:
        raise UserError(f"--dataset {dataset}: choose cifar10, cifar100 or folder:TRAIN_DIR,VAL_DIR")
    result = ProbeResult(results, dataset, f"{trunk_spec} ({arch})",
                         protocol={**asdict(config), "pooling": "full resolution" if dataset.startswith("cifar") else "adaptive max",
                                   "arch": arch, "trunk_meta": {k: v for k, v in meta.items() if k != "config"}})
    write_json(out, asdict(result))
    atomic_write_text(out.with_suffix(".md"), result.to_markdown())
    state_path.unlink(missing_ok=True)
    return result


def subset(data, limit: int | None, seed: int):
    """A seeded subset of an ArrayDataset (in the original order), or the dataset itself."""
    if not limit or limit >= len(data.labels):
        return data
    keep = np.sort(np.random.default_rng(seed).choice(len(data.labels), limit, replace=False))
    return replace(data, images=data.images[keep], labels=data.labels[keep])


def config_from_args(preset: str, **overrides) -> ProbeConfig:
    if preset not in PRESETS:
        raise UserError(f"--preset {preset}: choose one of {', '.join(PRESETS)}")
    return replace(PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None})
