"""The shared pretraining engine: what every method's loop needs, and nothing of the loop itself.

`Run` owns Lightning Fabric (devices, DDP, precision), the run directory (resolved config, JSONL
metrics, atomic per-epoch checkpoints, the final `trunk.pt`), the input data, the progress bar and
the NaN guard. Each method (`monossl.methods.*`) writes its own plain loop against it.

Multi-GPU / multi-node: the same code runs under `fabric run --devices 8 -m monossl pretrain ...`
or `torchrun --nproc-per-node 8 -m monossl pretrain ... --devices 8`; Fabric picks the strategy.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from lightning.fabric import Fabric
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from monossl.data.patches import ArrayPatchDataset, PatchDataset, load_patch_dir
from monossl.data.sampler import AugmentConfig, PatchSampler
from monossl.errors import UserError
from monossl.nets.registry import save_trunk
from monossl.rundir import MetricsLog, prepare_out_dir, read_json, write_json


@dataclass
class PretrainConfig:
    """Everything a pretraining run depends on; written to RUN/config.json."""

    method: str
    out: str
    arch: str = "cifar"
    sources: list[str] = field(default_factory=list)  # on-the-fly patches from these images (§3.1)
    patches: str | None = None  # a materialised `monossl generate` folder
    dataset: str | None = None  # cifar10 / cifar100, used without labels (except `supervised`)
    folder: str | None = None  # an image folder
    size: int = 32
    count: int = 50000  # d: patches per epoch
    endless: bool = False  # fresh patches every epoch instead of the same d
    augment: dict = field(default_factory=dict)  # AugmentConfig fields (§3.1 switches)
    epochs: int = 10
    batch_size: int = 128
    seed: int = 0
    device: str = "auto"
    devices: int = 1
    precision: str = "32-true"
    workers: int = 2
    data_root: str | None = None
    hparams: dict = field(default_factory=dict)  # the method's own, defaulting to its paper


class Run:
    """Fabric, run directory, data, checkpoints, metrics and progress for one pretraining run."""

    def __init__(self, config: PretrainConfig, resume: bool = False):
        self.config = config
        self.out = Path(config.out)
        self.resume = resume
        accelerator = {"auto": "auto", "cpu": "cpu", "cuda": "cuda"}.get(config.device)
        if accelerator is None:
            raise UserError(f"--device {config.device}: choose auto, cpu or cuda")
        if accelerator == "cuda" and not torch.cuda.is_available():
            raise UserError("--device cuda: no CUDA device is visible; use --device cpu")
        self.fabric = Fabric(accelerator=accelerator, devices=config.devices, precision=config.precision)
        self.fabric.launch()
        self.fabric.seed_everything(config.seed, verbose=False)
        self.metrics = MetricsLog(self.out / "metrics.jsonl")
        self.checkpoint_path = self.out / "checkpoint.pt"
        self.trunk_path = self.out / "trunk.pt"
        self.global_step = 0
        self._bar = None

    # -- directory -----------------------------------------------------------------------------
    def prepare(self) -> None:
        """Create the run directory and write the resolved config (refusing to clobber another run)."""
        if self.fabric.is_global_zero:
            if self.resume and (self.out / "config.json").exists():
                previous = read_json(self.out / "config.json")
                mine = json.loads(json.dumps({k: v for k, v in asdict(self.config).items()
                                              if k not in ("workers", "device", "epochs")}))
                theirs = {k: v for k, v in previous.items() if k in mine}
                if theirs != mine:
                    raise UserError(f"{self.out}: --resume with settings that differ from the interrupted run; "
                                    "repeat its command or choose a new --out")
            prepare_out_dir(self.out, self.resume)
            write_json(self.out / "config.json", asdict(self.config))
        self.fabric.barrier()

    @property
    def finished(self) -> bool:
        return self.trunk_path.exists()

    # -- data ----------------------------------------------------------------------------------
    def dataset(self) -> Dataset:
        """Unlabelled S x S images in (-1, 1): on-the-fly patches, a patch folder, CIFAR or an image folder."""
        cfg = self.config
        chosen = [bool(cfg.sources), bool(cfg.patches), bool(cfg.dataset), bool(cfg.folder)]
        if sum(chosen) != 1:
            raise UserError("give exactly one input: --source IMG..., --patches DIR, --dataset NAME or --folder DIR")
        if cfg.sources:
            return PatchDataset(self.sampler(), cfg.count, endless=cfg.endless)
        if cfg.patches:
            array = load_patch_dir(cfg.patches)
            self.check_size(array.shape[1], f"--patches {cfg.patches}")
            return ArrayPatchDataset(array)
        if cfg.dataset:
            return ArrayPatchDataset(self.labelled()[0])
        return ArrayPatchDataset(folder_images(cfg.folder, cfg.size))

    def sampler(self) -> PatchSampler:
        from monossl.data.sources import load_sources

        images, names = load_sources(self.config.sources, seed=self.config.seed, data_root=self.config.data_root)
        return PatchSampler(images, AugmentConfig(size=self.config.size, **self.config.augment), self.config.seed, names)

    def labelled(self) -> tuple[np.ndarray, np.ndarray, int]:
        """uint8 images, labels and class count of --dataset (or a labelled --folder)."""
        from monossl.data.cifar import load_cifar

        cfg = self.config
        if cfg.dataset in ("cifar10", "cifar100"):
            data = load_cifar(cfg.dataset, cfg.data_root, train=True)
            self.check_size(32, f"--dataset {cfg.dataset}")
            return data.images, data.labels, data.num_classes
        if cfg.folder:
            from monossl.data.folder import scan_folder

            samples, classes = scan_folder(cfg.folder)
            return folder_images(cfg.folder, cfg.size), np.array([c for _, c in samples]), len(classes)
        raise UserError(f"--dataset {cfg.dataset}: choose cifar10 or cifar100 (or --folder DIR with class subfolders)")

    def check_size(self, size: int, what: str) -> None:
        if size != self.config.size:
            raise UserError(f"{what} holds {size}x{size} images but --size is {self.config.size}; pass --size {size}")

    def loader(self, dataset: Dataset, shuffle: bool = True, drop_last: bool = True, sampler=None,
               batch_size: int | None = None) -> DataLoader:
        """A Fabric-wrapped loader. Shuffling is seeded per epoch by `set_epoch` on the returned loader."""
        bs = batch_size or self.config.batch_size
        if len(dataset) < bs and drop_last:
            raise UserError(f"{len(dataset)} training images but --batch-size {bs}; raise --count or lower --batch-size")
        loader = DataLoader(dataset, batch_size=bs, shuffle=shuffle and sampler is None, sampler=sampler,
                            drop_last=drop_last, num_workers=self.config.workers,
                            persistent_workers=False, generator=torch.Generator().manual_seed(self.config.seed))
        return self.fabric.setup_dataloaders(loader, use_distributed_sampler=sampler is None)

    def epoch_batches(self, loader: DataLoader, dataset: Dataset, epoch: int):
        """Iterate one epoch with a progress bar (loss, throughput, ETA); endless sources move on."""
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)
        if hasattr(loader, "sampler") and hasattr(loader.sampler, "set_epoch"):
            loader.sampler.set_epoch(epoch)
        gen = getattr(loader, "generator", None) or getattr(getattr(loader, "_dataloader", None), "generator", None)
        if gen is not None:
            gen.manual_seed(self.config.seed * 1000003 + epoch)
        self._bar = tqdm(loader, desc=f"{self.config.method} epoch {epoch + 1}/{self.config.epochs}", unit="batch",
                         disable=not (self.fabric.is_global_zero and sys.stderr.isatty()), leave=False)
        self._tick = time.perf_counter()
        yield from self._bar

    # -- bookkeeping ---------------------------------------------------------------------------
    def log_step(self, epoch: int, **values) -> None:
        """Record per-step metrics; stops the run cleanly on a NaN or infinite loss."""
        self.global_step += 1
        plain = {k: float(v) for k, v in values.items()}
        for k, v in plain.items():
            if not math.isfinite(v):
                raise UserError(f"{k} became {v} at epoch {epoch + 1}, step {self.global_step}; the last good checkpoint "
                                f"is kept in {self.out} (lower the learning rate, then --resume)")
        if self._bar is not None:
            now = time.perf_counter()
            rate = self.config.batch_size / max(now - self._tick, 1e-9)
            self._tick = now
            self._bar.set_postfix({**{k: f"{v:.3g}" for k, v in plain.items()}, "img/s": f"{rate:.0f}"})
        if self.fabric.is_global_zero and (self.global_step % 10 == 0 or self.global_step == 1):
            self.metrics.append({"kind": "step", "epoch": epoch, "step": self.global_step, **plain})

    def end_epoch(self, epoch: int, state: dict, trunk: nn.Module | None = None, **values) -> None:
        """Log the epoch and write the checkpoint atomically (rank 0 writes; all wait). With `trunk`,
        also keep a probe-ready snapshot `RUN/trunks/epochNNN.pt`, to see how features move with training."""
        state["epoch"] = epoch + 1
        state["global_step"] = self.global_step
        state["rng"] = torch.get_rng_state()
        tmp = self.out / ".checkpoint.pt.tmp"
        self.fabric.save(tmp, state)
        if self.fabric.is_global_zero:
            os.replace(tmp, self.checkpoint_path)
            if trunk is not None:
                save_trunk(self.out / "trunks" / f"epoch{epoch + 1:03d}.pt", getattr(trunk, "module", trunk),
                           self.config.arch, method=self.config.method, epoch=epoch + 1)
            self.metrics.append({"kind": "epoch", "epoch": epoch + 1, "step": self.global_step,
                                 **{k: float(v) for k, v in values.items()}})
            print(f"epoch {epoch + 1}/{self.config.epochs}: " + ", ".join(f"{k} {float(v):.4g}" for k, v in values.items()),
                  file=sys.stderr, flush=True)
        self.fabric.barrier()

    def restore(self, state: dict) -> int:
        """Load the last checkpoint into `state` when resuming; returns the epoch to start from."""
        if not (self.resume and self.checkpoint_path.exists()):
            return 0
        rest = self.fabric.load(self.checkpoint_path, state)
        state.update(rest)
        torch.set_rng_state(state["rng"])
        self.global_step = int(state["global_step"])
        if self.fabric.is_global_zero:
            self.metrics.truncate_after("epoch", int(state["epoch"]))
        return int(state["epoch"])

    def finish(self, trunk: nn.Module, **extra) -> Path:
        """Write the final trunk checkpoint (architecture recorded) that `monossl probe RUN` reads."""
        if self.fabric.is_global_zero:
            module = getattr(trunk, "module", trunk)
            save_trunk(self.trunk_path, module, self.config.arch, method=self.config.method, **extra)
        self.fabric.barrier()
        return self.trunk_path


def folder_images(folder: str, size: int) -> np.ndarray:
    """Every image of a folder, shorter side resized to `size` and centre-cropped: uint8 (N, S, S, 3)."""
    from PIL import Image

    from monossl.data.folder import resize_shorter
    from monossl.data.sources import decode_image, list_images

    files = list_images(Path(folder))
    if not files:
        raise UserError(f"{folder}: no images found; pass a folder of .jpg/.png files")
    out = np.empty((len(files), size, size, 3), np.uint8)
    for i, f in enumerate(files):
        img = resize_shorter(Image.fromarray(decode_image(f)), size)
        x, y = (img.width - size) // 2, (img.height - size) // 2
        out[i] = np.asarray(img.crop((x, y, x + size, y + size)))
    return out


def crop_size(arch: str, size: int) -> int:
    """Native crop side: AlexNets see 224/256 of the patch (224 from 256, as RotNet/DeepCluster); the CIFAR trunk all of it."""
    return size if arch == "cifar" else round(size * 224 / 256)


def feature_dim(trunk: nn.Module, crop: int) -> int:
    with torch.no_grad():
        was = trunk.training
        trunk.eval()
        dim = trunk(torch.zeros(1, 3, crop, crop)).flatten(1).shape[1]
        trunk.train(was)
    return dim


def step_lr(base: float, epoch: int, epochs: int, milestones: tuple[float, ...], factor: float) -> float:
    """Step schedule with milestones given as fractions of the run (so short runs keep the shape)."""
    return base * factor ** sum(epoch >= round(m * epochs) for m in milestones)


def set_lr(optimiser: torch.optim.Optimizer, lr: float) -> None:
    for group in optimiser.param_groups:
        group["lr"] = lr
