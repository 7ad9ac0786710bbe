"""Linear probes on every tap of a frozen trunk (§4.1): the paper's yardstick.

Each probe is a BatchNorm without affine parameters, then a linear layer, placed after its ReLU; all
taps are probed at once. BatchNorm in the trunk is absorbed into the preceding convs first.

Protocol options (`ProbeConfig`, every one recorded in the result):
* `augment`: training views of the probe's images: `none`; `flip` (a left-right flip with p = 0.5,
  as the authors' linear-probes code keeps); `crop-flip` (zero-pad 4, random 32x32 crop, flip:
  RotNet's CIFAR classifiers). Evaluation never augments.
* `norm`: `channel` normalises each tap per channel, over batch and positions (BatchNorm2d
  semantics, as the linear-probes code); `feature` normalises every flattened dimension on its own.
* `bn_stats`: `batch` trains with batch statistics and evaluates with running ones (PyTorch's
  BatchNorm); `population` fixes them to the whole training set's, for training and evaluation;
  `auto` (default) is `population` where features are cached (CIFAR, centre folder views) and
  `batch` on ten-crop folders, whose augmented views are never cached.

CIFAR: taps at full resolution. With `none` and `flip`, the frozen trunk's features are extracted
once (fp16, spilled to a memory map beyond `memory_budget_gb`); `flip` extracts the mirrored
training set beside the originals, so every epoch picks each image's view from the cache: exactly
the features of flipped images, at twice the extraction cost and none per epoch. `crop-flip`
cannot be cached and runs the trunk (up to the deepest tap) over the training set every epoch.
Image folders (ImageNet layout): each tap is adaptive-max-pooled to about 9600 dims (9600/9216/
9600/9600/9216 for AlexNet). `folder_views="ten-crop"` (the paper's): training images are resized to
256, randomly cropped to 224 and flipped, every epoch; evaluation averages the scores of ten crops.
`folder_views="centre"`: each image's centre crop is decoded once and probed as CIFAR's images are
(cached features, flipped per `augment`), so an epoch costs no decoding and no trunk pass.
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

from monossl.data.specs import DatasetSpec
from monossl.errors import OptionError, UserError, opt
from monossl.provenance import made_by
from monossl.nets.trunk import Trunk, absorb_batchnorm, prepare_input
from monossl.rundir import atomic_torch_save, atomic_write_text, read_state, write_json, writer_lock
from monossl.probes.config import PRESETS, ProbeConfig
from monossl.schedule import set_lr
from monossl.seeding import check_seeds, derive_seed, generator, rng
from monossl.stats import mean_std

def pool_size(channels: int, target: int) -> int:
    """Side of the adaptive max-pool that brings a tap near `target` dims (9600 -> 10, 6, 5, 5, 6 on AlexNet)."""
    return max(1, round(math.sqrt(target / channels)))


class TapFeatures(nn.Module):
    """Frozen trunk (BN absorbed) -> {tap: flat features}, optionally max-pooled to ~pool_target dims."""

    def __init__(self, trunk: Trunk, taps: list[str], input_norm: str = "unit", pool_target: int | None = None):
        super().__init__()
        self.trunk = absorb_batchnorm(trunk)
        self.taps = self.trunk.check_taps(taps)
        self.input_norm = input_norm
        shapes = self.trunk.tap_shapes(self.taps)
        self.pools = {t: (pool_size(shapes[t][0], pool_target) if pool_target else None) for t in self.taps}
        self.shapes = {t: (shapes[t][0], *((self.pools[t],) * 2 if self.pools[t] else shapes[t][1:])) for t in self.taps}
        self.dims = {t: int(np.prod(s)) for t, s in self.shapes.items()}

    @torch.no_grad()
    def forward(self, images_uint8: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.trunk(prepare_input(images_uint8, self.input_norm), self.taps)
        return {t: (F.adaptive_max_pool2d(v, self.pools[t]) if self.pools[t] else v).flatten(1) for t, v in out.items()}


class ProbeNorm(nn.BatchNorm1d):
    """BatchNorm without affine parameters on a flattened tap of shape (C, H, W): per channel (over
    batch and positions, exactly BatchNorm2d's statistics) or per feature (every C*H*W dim alone)."""

    def __init__(self, shape: tuple[int, int, int], mode: str):
        self.shape, self.mode = tuple(shape), mode
        # momentum=None: running statistics are the cumulative average of all batches, which converges to the
        # training set's on frozen features (an exponential average of 0.1 would still remember its init after
        # the few batches of a small probe)
        super().__init__(shape[0] if mode == "channel" else int(np.prod(shape)), affine=False, momentum=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "channel":
            return super().forward(x.view(len(x), self.shape[0], -1)).flatten(1)
        return super().forward(x)


class LinearProbes(nn.Module):
    """One ProbeNorm + Linear per tap."""

    def __init__(self, shapes: dict[str, tuple[int, int, int]], num_classes: int, norm: str = "channel"):
        super().__init__()
        self.heads = nn.ModuleDict({t: nn.Sequential(ProbeNorm(s, norm), nn.Linear(int(np.prod(s)), num_classes))
                                    for t, s in shapes.items()})

    def forward(self, feats: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {t: self.heads[t](x) for t, x in feats.items()}

    def set_population_stats(self, stats: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> None:
        for t, (mean, var) in stats.items():
            self.heads[t][0].running_mean.copy_(mean)
            self.heads[t][0].running_var.copy_(var)


def topk_correct(logits: torch.Tensor, labels: torch.Tensor) -> tuple[int, int]:
    top = logits.topk(min(5, logits.shape[1]), dim=1).indices
    return int((top[:, 0] == labels).sum()), int((top == labels[:, None]).any(1).sum())


def flip_nhwc(images: np.ndarray) -> np.ndarray:
    return images[:, :, ::-1]


def extract(features: TapFeatures, images: np.ndarray, config: ProbeConfig, scratch: Path | None,
            desc: str, flip: bool = False, batch_size: int = 500) -> dict[str, np.ndarray]:
    """Features of uint8 NHWC images for every tap, as fp16 arrays (memory maps beyond the budget).
    With `flip`, rows n..2n-1 hold the features of the mirrored images (row i + n mirrors row i)."""
    n = len(images)
    rows = 2 * n if flip else n
    spill = rows * sum(features.dims.values()) * 2 > config.memory_budget_gb * 2**30
    out = {}
    for t, d in features.dims.items():
        if spill:
            out[t] = np.lib.format.open_memmap(Path(tempfile.mkdtemp(dir=scratch)) / f"{t}.npy", "w+", np.float16, (rows, d))
        else:
            out[t] = np.empty((rows, d), np.float16)
    views = [(0, images)] + ([(n, flip_nhwc(images))] if flip else [])
    total = len(views) * math.ceil(n / batch_size)
    with tqdm(total=total, desc=desc, unit="batch", disable=not sys.stderr.isatty(), leave=False) as bar:
        for offset, view in views:
            for start in range(0, n, batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(view[start:start + batch_size])).permute(0, 3, 1, 2)
                for t, v in features(batch).items():
                    out[t][offset + start:offset + start + len(v)] = v.half().numpy()
                bar.update()
    return out


def population_stats(feats: np.ndarray, shape: tuple[int, int, int], norm: str, chunk: int = 2048):
    """Mean and (biased) variance over all rows of cached features: per channel (over rows and
    positions, as BatchNorm2d) or per flattened feature."""
    c = shape[0]
    width = c if norm == "channel" else feats.shape[1]
    sum_x, sum_xx, count = np.zeros(width), np.zeros(width), 0
    for start in range(0, len(feats), chunk):
        x = np.asarray(feats[start:start + chunk], dtype=np.float64)
        if norm == "channel":
            x = x.reshape(len(x), c, -1).transpose(0, 2, 1).reshape(-1, c)
        sum_x += x.sum(0)
        sum_xx += (x * x).sum(0)
        count += len(x)
    mean = sum_x / count
    var = np.maximum(sum_xx / count - mean**2, 0)
    return torch.from_numpy(mean).float(), torch.from_numpy(var).float()


def crop_flip(images: np.ndarray, generator_: np.random.Generator, padding: int) -> torch.Tensor:
    """RotNet's CIFAR view: zero-pad by `padding`, a uniformly placed crop of the original size, a
    left-right flip with p = 0.5. uint8 NHWC -> uint8 NCHW, one gather for the whole batch."""
    n, h, w, _ = images.shape
    x = torch.from_numpy(np.ascontiguousarray(images))
    padded = F.pad(x, (0, 0, padding, padding, padding, padding))
    dy = torch.from_numpy(generator_.integers(0, 2 * padding + 1, n))
    dx = torch.from_numpy(generator_.integers(0, 2 * padding + 1, n))
    flip = torch.from_numpy(generator_.random(n) < 0.5)
    cols = torch.arange(w)
    cols = torch.where(flip[:, None], w - 1 - cols, cols) + dx[:, None]
    rows = torch.arange(h) + dy[:, None]
    out = padded[torch.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]  # (n, h, w, 3)
    return out.permute(0, 3, 1, 2)


@dataclass
class ProbeResult:
    taps: dict[str, dict[str, float]]
    dataset: str
    trunk: str
    protocol: dict = field(default_factory=dict)
    seeds: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # seed -> tap -> metrics
    curves: dict[str, list[dict]] = field(default_factory=dict)  # seed -> per-epoch train/test top-1

    def to_markdown(self) -> str:
        names = list(self.taps)
        spread = len(self.seeds) > 1
        head = "| metric | " + " | ".join(names) + " |\n|---|" + "---|" * len(names) + "\n"
        cell = lambda t, m: f"{self.taps[t][m]:.1f}" + (f" ± {self.taps[t][m + '_std']:.1f}" if spread else "")  # noqa: E731
        metrics = [m for m in ("top1", "top5", "knn_top1", "knn_top5") if all(m in self.taps[t] for t in names)]
        labels = {"top1": "linear top-1", "top5": "linear top-5", "knn_top1": "kNN top-1", "knn_top5": "kNN top-5"}
        rows = [f"| {labels[m]} | " + " | ".join(cell(t, m) for t in names) + " |" for m in metrics]
        seeds = f" (mean ± std over seeds {', '.join(self.seeds)})" if spread else ""
        return f"Probes: {self.trunk} on {self.dataset}{seeds}\n\n" + head + "\n".join(rows) + "\n"


def aggregate(per_seed: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Mean and sample standard deviation (0 for one seed) of every metric of every tap over seeds."""
    seeds = list(per_seed.values())
    out = {}
    for tap in seeds[0]:
        out[tap] = {}
        for metric in seeds[0][tap]:
            out[tap][metric], out[tap][f"{metric}_std"] = mean_std(s[tap][metric] for s in seeds)
    return out


class TrainState:
    """What `--resume` needs after each epoch: the probes, the optimiser and the learning curve."""

    def __init__(self, path: Path | None, probes: nn.Module, optimiser):
        self.path, self.probes, self.optimiser = path, probes, optimiser

    def load(self, resume: bool) -> tuple[int, list[dict]]:
        if not (resume and self.path and self.path.exists()):
            return 0, []
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=False)
            self.probes.load_state_dict(state["probes"])
            self.optimiser.load_state_dict(state["optim"])
            return int(state["epoch"]), list(state.get("curve", []))
        except Exception as exc:  # noqa: BLE001 - any failure to read it back means it cannot be trusted
            from monossl.methods.engine import checkpoint_problem

            raise UserError(f"{self.path}: {checkpoint_problem(exc)}; delete it (the probe of this seed starts "
                            "again) and rerun") from None

    def save(self, epoch: int, curve: list[dict]) -> None:
        if self.path:
            atomic_torch_save({"epoch": epoch + 1, "probes": self.probes.state_dict(),
                               "optim": self.optimiser.state_dict(), "curve": curve}, self.path)


def make_optimiser(probes: nn.Module, config: ProbeConfig) -> torch.optim.Optimizer:
    return torch.optim.SGD(probes.parameters(), lr=config.lr, momentum=config.momentum,
                           nesterov=config.nesterov, weight_decay=config.weight_decay)


def epoch_range(config: ProbeConfig, start: int):
    return tqdm(range(start, config.epochs), desc="probes", unit="epoch", initial=start, total=config.epochs,
                disable=not sys.stderr.isatty())


def resolve_stats(config: ProbeConfig, cached: bool) -> ProbeConfig:
    """`bn_stats="auto"`: population statistics on cached features, batch statistics on image folders."""
    if config.bn_stats == "auto":
        return replace(config, bn_stats="population" if cached else "batch")
    return config


def train_probes(probes: LinearProbes, batches, n: int, labels: torch.Tensor, config: ProbeConfig,
                 state: TrainState, resume: bool, evaluate=None) -> list[dict]:
    """The probes' SGD loop. `batches(epoch, order)` yields (rows, {tap: float features}) for the
    epoch's shuffled `order`; `evaluate()` returns test top-1 per tap for the learning curve."""
    optimiser = state.optimiser
    start, curve = state.load(resume)
    for epoch in epoch_range(config, start):
        set_lr(optimiser, config.lr_at(epoch))
        probes.train(config.bn_stats == "batch")  # population: fixed training-set statistics
        order = torch.randperm(n, generator=generator(config.seed, "probe-order", epoch))
        correct = {t: 0 for t in probes.heads}
        for rows, feats in batches(epoch, order):
            logits = probes(feats)
            target = labels[rows]
            loss = sum(F.cross_entropy(v, target) for v in logits.values())
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            for t, v in logits.items():
                correct[t] += int((v.detach().argmax(1) == target).sum())
        probes.eval()
        point = {"epoch": epoch + 1, "lr": config.lr_at(epoch), "train_top1": {t: 100 * c / n for t, c in correct.items()}}
        if evaluate is not None:
            point["test_top1"] = {t: m["top1"] for t, m in evaluate().items()}
        curve.append(point)
        state.save(epoch, curve)
    probes.eval()
    return curve


def probe_arrays(trunk: Trunk, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], num_classes: int,
                 taps: list[str] | None = None, config: ProbeConfig = ProbeConfig(), input_norm: str = "unit",
                 state_path: Path | None = None, resume: bool = False, cache: dict | None = None,
                 pool_target: int | None = None) -> tuple[dict[str, dict[str, float]], list[dict]]:
    """Probe every tap on in-memory uint8 NHWC images (CIFAR; an image folder's centre crops, each tap pooled to
    about `pool_target` dims). Returns the test metrics per tap and the learning curve. `cache` (a dict kept by
    the caller) lets several seeds share one extraction."""
    config = resolve_stats(config.validate(), cached=True)
    torch.manual_seed(derive_seed(config.seed, "probe-init"))
    features = TapFeatures(trunk, taps or trunk.tap_names, input_norm=input_norm, pool_target=pool_target)
    scratch = state_path.parent if state_path else None
    cache = {} if cache is None else cache
    cached_flip = config.augment == "flip"
    key = ("train", cached_flip)
    needs_train = config.augment != "crop-flip" or config.bn_stats == "population"
    if needs_train and key not in cache:
        cache.pop(("train", not cached_flip), None)  # never hold both layouts
        cache[key] = extract(features, train[0], config, scratch, "features (train)", flip=cached_flip)
    if "test" not in cache:
        cache["test"] = extract(features, test[0], config, scratch, "features (test)")
    train_feats, test_feats = cache.get(key), cache["test"]
    n = len(train[1])
    labels = torch.from_numpy(np.asarray(train[1])).long()
    test_labels = torch.from_numpy(np.asarray(test[1])).long()
    probes = LinearProbes(features.shapes, num_classes, config.norm)
    if config.bn_stats == "population":
        probes.set_population_stats({t: population_stats(f, features.shapes[t], config.norm) for t, f in train_feats.items()})

    def cached_batches(epoch, order):
        flips = rng(config.seed, "probe-flip", epoch).random(n) < 0.5 if cached_flip else None
        for batch in order.split(config.batch_size):
            rows = np.sort(batch.numpy())
            index = rows + n * flips[rows] if cached_flip else rows
            yield rows, {t: torch.from_numpy(f[index]).float() for t, f in train_feats.items()}

    def augmented_batches(epoch, order, chunk: int = 1920):
        draw = rng(config.seed, "probe-crop", epoch)
        for start in range(0, n, chunk):
            rows = np.sort(order[start:start + chunk].numpy())
            views = features(crop_flip(train[0][rows], draw, config.crop_padding))
            for i in range(0, len(rows), config.batch_size):
                yield rows[i:i + config.batch_size], {t: v[i:i + config.batch_size] for t, v in views.items()}

    state = TrainState(state_path, probes, make_optimiser(probes, config))
    curve = train_probes(probes, augmented_batches if config.augment == "crop-flip" else cached_batches, n, labels,
                         config, state, resume, evaluate=lambda: evaluate_cached(probes, test_feats, test_labels))
    return evaluate_cached(probes, test_feats, test_labels), curve


@torch.no_grad()
def evaluate_cached(probes: LinearProbes, feats: dict[str, np.ndarray], labels: torch.Tensor, chunk: int = 2000):
    was = probes.training
    probes.eval()
    correct = {t: [0, 0] for t in feats}
    for start in range(0, len(labels), chunk):
        logits = probes({t: torch.from_numpy(f[start:start + chunk]).float() for t, f in feats.items()})
        for t, v in logits.items():
            c1, c5 = topk_correct(v, labels[start:start + chunk])
            correct[t][0] += c1
            correct[t][1] += c5
    probes.train(was)
    return {t: {"top1": 100 * c[0] / len(labels), "top5": 100 * c[1] / len(labels)} for t, c in correct.items()}


def probe_folder(trunk: Trunk, train_dir: str, val_dir: str, taps: list[str] | None = None,
                 config: ProbeConfig = ProbeConfig(), input_norm: str = "unit", workers: int = 2,
                 state_path: Path | None = None, resume: bool = False) -> tuple[dict[str, dict[str, float]], list[dict]]:
    """Probe on an image folder with the augmented ImageNet protocol (random crops; ten-crop evaluation).
    `train_limit` / `test_limit` keep a seeded subset with an equal share of every class."""
    from monossl.data.folder import ImageFolder

    config = resolve_stats(config.validate(), cached=False)
    torch.manual_seed(derive_seed(config.seed, "probe-init"))
    crop = config.crop or trunk.input_size
    train = ImageFolder(train_dir, crop=crop, train=True, seed=config.seed, limit=config.train_limit)
    val = ImageFolder(val_dir, crop=crop, train=False, classes=train.classes, seed=config.seed, limit=config.test_limit)
    pool = config.pool_target if crop > 64 else None
    features = TapFeatures(trunk, taps or trunk.tap_names, input_norm=input_norm, pool_target=pool)
    probes = LinearProbes(features.shapes, len(train.classes), config.norm)
    if config.bn_stats == "population":
        raise UserError("--bn-stats population needs cached features (CIFAR); image folders use --bn-stats batch")
    labels = torch.from_numpy(train.labels).long()

    def batches(epoch, order):
        train.set_epoch(epoch)
        loader = torch.utils.data.DataLoader(train, batch_size=config.batch_size, num_workers=workers,
                                             sampler=order.tolist(), drop_last=len(train) > config.batch_size)
        start = 0
        for images, _ in loader:
            yield order[start:start + len(images)].numpy(), features(images)
            start += len(images)

    state = TrainState(state_path, probes, make_optimiser(probes, config))
    curve = train_probes(probes, batches, len(train), labels, config, state, resume)
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
    return {t: {"top1": 100 * c[0] / len(val), "top5": 100 * c[1] / len(val)} for t, c in correct.items()}, curve


def read_result(path: Path) -> dict:
    """A probe result JSON, checked to hold top-1 per tap, or one line naming the damaged file.

    Raises:
        UserError: the file is cut short, garbage, or not a probe result."""
    data = read_state(path, "delete it: the probe runs again")
    taps = data.get("taps")
    if not isinstance(taps, dict) or not taps or not all(
            isinstance(m, dict) and isinstance(m.get("top1", m.get("knn_top1")), (int, float)) for m in taps.values()):
        raise UserError(f"{path}: not a probe result (no top-1 per tap); delete it: the probe runs again")
    return data


def interrupted(out: str | Path) -> bool:
    """Whether OUT is an interrupted probe (per-seed states or finished seeds on disk)."""
    out = Path(out)
    return out.with_name(out.name + ".partial.json").exists() or any(out.parent.glob(f"{out.name}.seed*.state.pt"))


@dataclass(frozen=True)
class KNN:
    """Weighted kNN settings of a probe (`monossl.probes.knn`): k voters, vote temperature, pooled side per tap."""
    k: int = 200
    temperature: float = 0.1
    pool: int = 1


def run_probe(trunk_spec: str, dataset: str, out: str | Path, *args, **kwargs) -> ProbeResult:
    """`probe`, holding the lock on OUT (a second process probing into the same OUT is refused)."""
    out = Path(out)
    if out.is_dir():
        raise UserError(f"{out}: is a folder; {opt('out')} takes a file name such as result.json")
    with writer_lock(out, folder=False):
        return probe(trunk_spec, dataset, out, *args, **kwargs)


def probe(trunk_spec: str, dataset: str, out: str | Path, arch: str | None = None, data_root: str | None = None,
          taps: list[str] | None = None, config: ProbeConfig = ProbeConfig(), resume: bool = False,
          workers: int = 2, seeds: list[int] | None = None, knn: KNN | None = None, linear: bool = True) -> ProbeResult:
    """The `monossl probe` job: resolve the trunk and data, probe every tap for each seed (a linear probe, and a
    weighted kNN classifier with `knn`; the kNN alone without `linear`), write OUT.json and OUT.md. With several
    seeds the result holds each seed's numbers and their mean and standard deviation; a baseline trunk (`random`,
    ...) is re-drawn with each seed. With `resume`, a finished OUT is re-used and an interrupted one continues
    from its last epoch (else it runs)."""
    from monossl.nets.registry import BASELINES, resolve_trunk

    out = Path(out)
    seeds = check_seeds(list(seeds) if seeds else [config.seed])
    if not (linear or knn):
        raise UserError("nothing to measure: ask for the linear probe, the kNN classifier, or both")
    if out.exists() and out.is_dir():
        raise UserError(f"{out}: is a folder; {opt('out')} takes a file name such as result.json")
    if out.exists() and not resume:
        raise UserError(f"{out}: exists; choose another {opt('out')} or delete it")
    if out.exists():  # finished: re-used when it measured what is asked now, else refused (never overwritten)
        done = read_result(out)
        made, asked = done.get("protocol", {}), asdict(config)
        changed = sorted(k for k in asked if k in made and k != "bn_stats" and made[k] != json_value(asked[k]))
        if done.get("dataset") != dataset or changed:
            raise UserError(f"{out}: a finished probe of other settings ({', '.join(changed[:3]) or 'dataset'}); "
                            f"choose a new {opt('out')} (nothing was changed)")
        return ProbeResult(**{k: v for k, v in done.items() if k in ProbeResult.__dataclass_fields__})
    partial_path = out.with_name(out.name + ".partial.json")
    done = read_state(partial_path, f"delete it and the {out.name}.seed*.state.pt files, then rerun without "
                      f"{opt('resume')}") if resume and partial_path.exists() else {"seeds": {}, "curves": {}}
    spec = DatasetSpec.parse(dataset)
    dirs = spec.dirs
    pool = None
    if spec.kind != "folder":
        from monossl.data.cifar import load_cifar

        train, test = load_cifar(dataset, data_root, train=True), load_cifar(dataset, data_root, train=False)
        train, test = subset(train, config.train_limit, config.seed), subset(test, config.test_limit, config.seed)
        images = train.images
    elif config.folder_views == "centre":
        from monossl.data.folder import centre_crops

        crop = config.crop or input_side(trunk_spec, arch)
        train, test = centre_crops(dirs[0], dirs[1], crop, config.train_limit, config.test_limit, config.seed, workers)
        images, pool = train.images, config.pool_target if train.images.shape[1] > 64 else None
    else:
        images = None
    if knn is not None and images is not None and knn.k > len(train.labels):
        raise OptionError("knn_k", knn.k, f"more neighbours than the {len(train.labels)} training images")
    baseline = trunk_spec in BASELINES
    cache: dict = {}
    for seed in seeds:
        trunk, arch_used, meta = resolve_trunk(trunk_spec, arch, seed=seed, images=images)
        trunk.check_taps(taps or trunk.tap_names)
        if spec.kind != "folder" and arch_used != "cifar":
            raise UserError(f"{dataset}: 32-px images need the cifar trunk, not {arch_used}; probe AlexNets on an image folder")
        if str(seed) in done["seeds"]:
            continue
        if baseline:
            cache = {}  # a new trunk: features differ
        out.parent.mkdir(parents=True, exist_ok=True)
        seeded = replace(config, seed=seed)
        state_path = out.with_name(f"{out.name}.seed{seed}.state.pt")
        norm = meta.get("input_norm", "unit")
        metrics, curve = {}, []
        if images is not None:
            if linear:
                metrics, curve = probe_arrays(trunk, (train.images, train.labels), (test.images, test.labels),
                                              train.num_classes, taps, seeded, norm, state_path, resume, cache, pool)
            if knn is not None:
                merge_metrics(metrics, knn_arrays(trunk, (train.images, train.labels), (test.images, test.labels),
                                                  train.num_classes, taps, seeded, norm, knn, cache, pool))
        else:
            if linear:
                metrics, curve = probe_folder(trunk, dirs[0], dirs[1], taps, seeded, norm, workers, state_path, resume)
            if knn is not None:
                merge_metrics(metrics, knn_folder(trunk, dirs[0], dirs[1], taps, seeded, norm, knn, workers))
        done["seeds"][str(seed)], done["curves"][str(seed)] = metrics, curve
        write_json(partial_path, done)
        state_path.unlink(missing_ok=True)
    if images is not None:
        classes = train.num_classes
    else:
        from monossl.data.folder import scan_folder

        classes = len(scan_folder(dirs[0])[1])
    protocol = {**asdict(resolve_stats(config, cached=images is not None)), "seeds": seeds, "classes": classes,
                "pooling": "adaptive max" if spec.kind == "folder" else "full resolution", "arch": arch_used,
                "linear": linear, "knn": asdict(knn) if knn else None,
                "trunk_meta": {k: v for k, v in meta.items() if k not in ("config", "seed")}, "made_by": made_by()}
    result = ProbeResult(aggregate(done["seeds"]), dataset, f"{trunk_spec} ({arch_used})", protocol=protocol,
                         seeds=done["seeds"], curves=done["curves"])
    write_json(out, asdict(result))
    atomic_write_text(out.with_suffix(".md"), result.to_markdown())
    partial_path.unlink(missing_ok=True)
    return result


def input_side(trunk_spec, arch: str | None) -> int:
    """The input side of the trunk TRUNK names (a baseline's architecture, a run's or checkpoint's trunk)."""
    from monossl.nets.registry import BASELINES, build_trunk, load_trunk

    if isinstance(trunk_spec, Trunk):
        return trunk_spec.input_size
    return (build_trunk(arch or "cifar") if trunk_spec in BASELINES else load_trunk(trunk_spec, arch)[0]).input_size


def json_value(value):
    """A setting as it reads back from JSON (tuples as lists)."""
    return list(value) if isinstance(value, tuple) else value


def merge_metrics(metrics: dict, extra: dict) -> None:
    for tap, values in extra.items():
        metrics.setdefault(tap, {}).update(values)


def knn_arrays(trunk: Trunk, train, test, classes: int, taps, config: ProbeConfig, input_norm: str, knn: KNN,
               cache: dict | None = None, pool_target: int | None = None) -> dict[str, dict[str, float]]:
    """Weighted kNN per tap on in-memory uint8 images (CIFAR, or a folder's centre crops with the linear probe's
    `pool_target`), reusing the linear probe's cached features when they are in `cache` (each tap pooled from
    them), else extracting pooled features."""
    from monossl.probes.knn import knn_accuracy, normalise, pooled

    features = TapFeatures(trunk, taps or trunk.tap_names, input_norm=input_norm, pool_target=pool_target)
    cache = {} if cache is None else cache
    n = len(train[1])

    def pooled_split(name: str, array: np.ndarray) -> dict[str, np.ndarray]:
        for key in ((name, False), (name, True)) if name == "train" else (name,):
            if key in cache:  # the full-resolution cache (rows 0..n-1: unflipped)
                return {t: normalise(torch.cat([pooled(torch.from_numpy(np.asarray(f[i:min(i + 2048, len(array))])), features.shapes[t],
                                                       knn.pool) for i in range(0, len(array), 2048)]))
                        for t, f in cache[key].items()}
        out = {t: [] for t in features.taps}
        for start in range(0, len(array), 500):
            batch = torch.from_numpy(np.ascontiguousarray(array[start:start + 500])).permute(0, 3, 1, 2)
            for t, v in features(batch).items():
                out[t].append(pooled(v, features.shapes[t], knn.pool))
        return {t: normalise(torch.cat(v)) for t, v in out.items()}

    tr, te = pooled_split("train", train[0][:n]), pooled_split("test", test[0])
    return {t: knn_accuracy(tr[t], train[1], te[t], test[1], classes, knn.k, knn.temperature) for t in features.taps}


def knn_folder(trunk: Trunk, train_dir: str, val_dir: str, taps, config: ProbeConfig, input_norm: str, knn: KNN,
               workers: int = 2) -> dict[str, dict[str, float]]:
    """Weighted kNN per tap on an image folder: centre crops of both splits (no augmentation), pooled per tap."""
    from monossl.data.folder import ImageFolder
    from monossl.probes.knn import knn_accuracy, normalise, pooled

    crop = config.crop or trunk.input_size
    train = ImageFolder(train_dir, crop=crop, train=False, seed=config.seed, limit=config.train_limit, view="centre")
    val = ImageFolder(val_dir, crop=crop, train=False, classes=train.classes, seed=config.seed, limit=config.test_limit,
                      view="centre")
    if knn.k > len(train):
        raise OptionError("knn_k", knn.k, f"more neighbours than the {len(train)} training images")
    features = TapFeatures(trunk, taps or trunk.tap_names, input_norm=input_norm, pool_target=None)

    def split(data):
        out = {t: [] for t in features.taps}
        for images, _ in torch.utils.data.DataLoader(data, batch_size=64, num_workers=workers):
            for t, v in features(images).items():
                out[t].append(pooled(v, features.shapes[t], knn.pool))
        return {t: normalise(torch.cat(v)) for t, v in out.items()}

    tr, te = split(train), split(val)
    return {t: knn_accuracy(tr[t], train.labels, te[t], val.labels, len(train.classes), knn.k, knn.temperature)
            for t in features.taps}


def probe_command(options, resume: bool = False) -> str:
    """`monossl probe`: the linear probes (and kNN) of `options` (a `monossl.commands.ProbeOptions`)."""
    if resume and not (Path(options.out).exists() or interrupted(options.out)):
        raise UserError(f"{options.out}: no interrupted probe to resume; drop {opt('resume')} to start one")
    knn = KNN(options.knn_k, options.knn_temperature, options.knn_pool) if options.knn or options.knn_only else None
    result = run_probe(options.trunk, options.dataset, options.out, arch=options.arch, data_root=options.data_root,
                       taps=list(options.taps) or None, config=options.protocol, resume=resume, workers=options.workers,
                       seeds=list(options.seeds) or None, knn=knn, linear=not options.knn_only)
    return result.to_markdown()


def subset(data, limit: int | None, seed: int):
    """A seeded subset of an ArrayDataset (in the original order), or the dataset itself."""
    if not limit or limit >= len(data.labels):
        return data
    keep = np.sort(rng(seed, "probe-subset", len(data.labels)).choice(len(data.labels), limit, replace=False))
    return replace(data, images=data.images[keep], labels=data.labels[keep])


def config_from_args(preset: str, **overrides) -> ProbeConfig:
    if preset not in PRESETS:
        raise UserError(f"--preset {preset}: choose one of {', '.join(PRESETS)}")
    return replace(PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}).validate()
