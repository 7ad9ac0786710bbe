"""The shared pretraining engine: what every method's loop needs, and nothing of the loop itself.

`Run` owns Lightning Fabric (devices, DDP, precision, loggers), the run directory (resolved config,
JSONL metrics, atomic per-epoch checkpoints, the final `trunk.pt`), the loaders and the epoch
iteration (progress bar, NaN guard, CPU time). What the run trains on is `config.input`, a
`monossl.data.inputs.TrainInput`; each method (`monossl.methods.*`) writes its own plain loop.

Multi-GPU / multi-node: the same code runs under `fabric run --devices 8 -m monossl pretrain ...`
or `torchrun --nproc-per-node 8 -m monossl pretrain ... --devices 8`; Fabric picks the strategy.
"""
from __future__ import annotations

import logging
import math
import os
import pickle
import sys
import time
from pathlib import Path

import torch
from lightning.fabric import Fabric
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from monossl.methods.config import RESUMABLE, PretrainConfig
from monossl import provenance
from monossl.errors import OptionError, UserError
from monossl.nets.registry import save_trunk
from monossl.rundir import MetricsLog, atomic_write_text, prepare_out_dir, read_state, write_failure, write_json
from monossl.seeding import derive_seed

class Run:
    """Fabric, run directory, loaders, checkpoints, metrics and progress for one pretraining run."""

    def __init__(self, config: PretrainConfig, resume: bool = False):
        self.config = config
        self.out = Path(config.out)
        self.resume = resume
        accelerator = config.device
        if accelerator == "cuda" and not torch.cuda.is_available():
            raise UserError("--device cuda: no CUDA device is visible; use --device cpu")
        for name in ("lightning.fabric", "lightning.pytorch"):  # no banners on normal runs (either may own the logger)
            logging.getLogger(name).setLevel(logging.WARNING)
        self.fabric = Fabric(accelerator=accelerator, devices=config.devices, num_nodes=config.nodes, precision=config.precision,
                             loggers=make_loggers(config.logger, self.out))
        self.fabric.launch()
        # one seed on every rank (Fabric's DistributedSampler shuffles with it, so the shards stay disjoint);
        # then a stream of its own per rank, so that augmentations differ between processes
        self.fabric.seed_everything(derive_seed(config.seed, "torch"), verbose=False)
        if self.fabric.world_size > 1:
            torch.manual_seed(derive_seed(config.seed, "torch", self.fabric.global_rank))
        self.metrics = MetricsLog(self.out / "metrics.jsonl")
        self.checkpoint_path = self.out / "checkpoint.pt"
        self.trunk_path = self.out / "trunk.pt"
        self.global_step = 0
        self.shuffle = torch.Generator()  # every loader's shuffling; reseeded per epoch in epoch_batches
        self.cpu_seconds = 0.0  # process CPU time spent in epochs, carried across --resume
        self._bar = None
        self._finite = None  # device-side: have all logged values been finite since the last check?
        self._epoch_start = None  # (CPU clock, wall clock) when the current epoch began
        self._knn_data = None  # the online kNN's labelled subset, read once

    # -- directory -----------------------------------------------------------------------------
    def prepare(self) -> None:
        """Create the run directory and write the resolved config (refusing to clobber another run)."""
        if self.fabric.is_global_zero:
            config_path = self.out / "config.json"
            if self.resume and config_path.exists():
                fix = f"delete {config_path.name} and start a new run without --resume (or choose a new --out)"
                try:
                    previous = PretrainConfig.from_dict(read_state(config_path, fix)).to_dict()
                except OptionError as exc:
                    raise UserError(f"{config_path}: does not describe a monossl run ({exc}); {fix}") from None
                mine = self.config.to_dict()
                differ = sorted(k for k in mine if k not in RESUMABLE and previous.get(k) != mine[k])
                if differ:
                    raise UserError(f"{self.out}: --resume with settings that differ from the interrupted run "
                                    f"({', '.join(differ)}); repeat its command or choose a new --out")
            prepare_out_dir(self.out, self.resume)
            write_json(config_path, self.config.to_dict())
            if not (self.out / "command.txt").exists():  # the command that made the run, for its model card
                atomic_write_text(self.out / "command.txt", provenance.command_line() + "\n")
        self.fabric.barrier()

    @property
    def finished(self) -> bool:
        return self.trunk_path.exists()

    # -- data ----------------------------------------------------------------------------------
    def loader(self, dataset: Dataset, shuffle: bool = True, drop_last: bool = True, sampler=None,
               batch_size: int | None = None) -> DataLoader:
        """A Fabric-wrapped loader (sharded under DDP). Shuffling is reseeded each epoch by `epoch_batches`."""
        bs = batch_size or self.config.batch_size
        if len(dataset) < bs and drop_last:
            raise UserError(f"{len(dataset)} training images but --batch-size {bs}; raise --count or lower --batch-size")
        loader = DataLoader(dataset, batch_size=bs, shuffle=shuffle and sampler is None, sampler=sampler,
                            drop_last=drop_last, num_workers=self.config.workers, persistent_workers=False,
                            generator=self.shuffle)
        return self.fabric.setup_dataloaders(loader, use_distributed_sampler=sampler is None)

    def epoch_batches(self, loader: DataLoader, epoch: int):
        """Iterate one epoch of `loader` with a progress bar (loss, throughput, ETA), seeded shuffling,
        and the epoch's CPU time recorded for `end_epoch`."""
        if hasattr(loader, "sampler") and hasattr(loader.sampler, "set_epoch"):
            loader.sampler.set_epoch(epoch)
        self.shuffle.manual_seed(derive_seed(self.config.seed, "shuffle", epoch))
        if os.environ.get("MONOSSL_TRACE_DIR"):  # debugging aid: the indices this rank draws this epoch
            import numpy as np

            trace = Path(os.environ["MONOSSL_TRACE_DIR"]) / f"rank{self.fabric.global_rank}_epoch{epoch + 1:03d}.npy"
            trace.parent.mkdir(parents=True, exist_ok=True)
            np.save(trace, np.array(list(loader.sampler), dtype=np.int64))
            self.shuffle.manual_seed(derive_seed(self.config.seed, "shuffle", epoch))  # the same order again
        self._bar = tqdm(loader, desc=f"{self.config.method} epoch {epoch + 1}/{self.config.epochs}", unit="batch",
                         disable=not (self.fabric.is_global_zero and sys.stderr.isatty()), leave=False)
        self._tick = time.perf_counter()
        if self._epoch_start is None:
            self.start_epoch()
        yield from self._bar

    def start_epoch(self) -> None:
        """Start the epoch's clocks before work that precedes its batches (DeepCluster's clustering)."""
        self._epoch_start = (cpu_clock(), time.perf_counter())

    # -- bookkeeping ---------------------------------------------------------------------------
    def log_step(self, epoch: int, **values) -> None:
        """Record per-step metrics; stops the run cleanly on a NaN or infinite value. Values may be
        tensors: every step folds them into a device-side finiteness flag, and they are read (a host
        sync) only on logged steps and at the end of the epoch."""
        self.global_step += 1
        tensors = [v.detach().reshape(-1) for v in values.values() if torch.is_tensor(v)]
        if tensors:
            finite = torch.isfinite(torch.cat([t.float() for t in tensors])).all()
            self._finite = finite if self._finite is None else self._finite & finite
        logged = self.global_step % 10 == 0 or self.global_step == 1
        if not logged and (self._bar is None or self._bar.disable) and len(tensors) == len(values):
            return
        plain = {k: float(v) for k, v in values.items()}
        self.check_finite(epoch, plain)
        if self._bar is not None and not self._bar.disable:
            now = time.perf_counter()
            rate = self.config.batch_size / max(now - self._tick, 1e-9)
            self._tick = now
            self._bar.set_postfix({**{k: f"{v:.3g}" for k, v in plain.items()}, "img/s": f"{rate:.0f}"})
        if logged and self.fabric.is_global_zero:
            self.metrics.append({"kind": "step", "epoch": epoch, "step": self.global_step, **plain})
            self.fabric.log_dict(plain, step=self.global_step)

    def check_finite(self, epoch: int, values: dict) -> None:
        bad = {k: v for k, v in values.items() if not math.isfinite(float(v))}
        if not bad and self._finite is not None and not bool(self._finite):
            bad = {"a training loss": float("nan")}
        self._finite = None
        for k, v in bad.items():
            raise UserError(f"{k} became {v} at epoch {epoch + 1}, step {self.global_step}; the last good checkpoint "
                            f"is kept in {self.out} (lower the learning rate, then --resume)")

    def end_epoch(self, epoch: int, state: dict, trunk: nn.Module | None = None, **values) -> None:
        """Log the epoch and write the checkpoint atomically (rank 0 writes; all wait). With `trunk`,
        also keep a probe-ready snapshot `RUN/trunks/epochNNN.pt`, to see how features move with training."""
        self.check_finite(epoch, values)
        wall = 0.0
        if self._epoch_start is not None:
            cpu_start, wall_start = self._epoch_start
            self.cpu_seconds += cpu_clock() - cpu_start
            wall = time.perf_counter() - wall_start
            self._epoch_start = None
        if self.fabric.world_size > 1 and trunk is not None:
            values["ranks_agree"] = float(self.ranks_agree(trunk))
        if trunk is not None and self.config.knn_every and (epoch + 1) % self.config.knn_every == 0 \
                and self.fabric.is_global_zero:
            values.update(self.online_knn(getattr(trunk, "module", trunk)))
        state["epoch"] = epoch + 1
        state["global_step"] = self.global_step
        state["cpu_seconds"] = self.cpu_seconds
        state["rng"] = torch.get_rng_state()
        tmp = self.out / ".checkpoint.pt.tmp"
        try:
            self.fabric.save(tmp, state)
        except (OSError, RuntimeError) as exc:  # a full disk or a file-size limit: no half-written checkpoint is left
            tmp.unlink(missing_ok=True)
            raise write_failure(exc, tmp) from None
        if self.fabric.is_global_zero:
            # snapshot and metrics first, the checkpoint last: a kill in between resumes from the previous
            # checkpoint, and `restore` drops the records of the epoch it repeats
            if trunk is not None:
                save_trunk(self.out / "trunks" / f"epoch{epoch + 1:03d}.pt", getattr(trunk, "module", trunk),
                           self.config.arch, method=self.config.method, epoch=epoch + 1)
            record = {k: float(v) for k, v in values.items()}
            self.metrics.append({"kind": "epoch", "epoch": epoch + 1, "step": self.global_step,
                                 "cpu_minutes": self.cpu_seconds / 60, "wall_seconds": wall, "images_seen": self.images_seen(),
                                 **record})
            self.fabric.log_dict({f"epoch/{k}": v for k, v in record.items()}, step=self.global_step)
            os.replace(tmp, self.checkpoint_path)
            print(f"epoch {epoch + 1}/{self.config.epochs}: " + ", ".join(f"{k} {v:.4g}" for k, v in record.items()),
                  file=sys.stderr, flush=True)
        self.fabric.barrier()

    def online_knn(self, trunk: nn.Module) -> dict[str, float]:
        """Weighted kNN top-1 of every tap on a fixed, seeded subset of a labelled set (as solo-learn's and lightly's
        online kNN): `knn_<tap>` values of the epoch record. The set is read once a run."""
        from monossl.probes.linear import KNN, knn_arrays, subset

        cfg = self.config
        if self._knn_data is None:
            from monossl.data.cifar import load_cifar

            train = subset(load_cifar(cfg.knn_dataset, cfg.input.data_root, train=True), cfg.knn_train, 0)
            test = subset(load_cifar(cfg.knn_dataset, cfg.input.data_root, train=False), cfg.knn_test, 0)
            self._knn_data = ((train.images, train.labels), (test.images, test.labels), train.num_classes)
        was = trunk.training
        scores = knn_arrays(trunk, *self._knn_data, None, None, "unit", KNN(k=min(200, cfg.knn_train)))
        trunk.train(was)
        return {f"knn_{tap}": v["knn_top1"] for tap, v in scores.items()}

    def ranks_agree(self, module: nn.Module) -> bool:
        """Whether every process holds the same weights (DDP keeps them in step; a mismatch is a bug)."""
        with torch.no_grad():
            digest = torch.stack([p.detach().double().sum() for p in module.parameters()]).sum()
        high = self.fabric.all_reduce(digest.clone(), reduce_op="max")
        low = -self.fabric.all_reduce(-digest, reduce_op="max")
        return bool(torch.isclose(high, low, rtol=1e-9, atol=1e-9))

    def images_seen(self) -> int:
        """Training images drawn so far (all ranks): steps x batch size x processes."""
        return self.global_step * self.config.batch_size * self.fabric.world_size

    def restore(self, state: dict) -> int:
        """Load the last checkpoint into `state` when resuming; returns the epoch to start from."""
        if not (self.resume and self.checkpoint_path.exists()):
            return 0
        try:
            rest = self.fabric.load(self.checkpoint_path, state)
            state.update(rest)
            torch.set_rng_state(state["rng"])
            self.global_step = int(state["global_step"])
            self.cpu_seconds = float(state.get("cpu_seconds", 0.0))
            int(state["epoch"])
        except (RuntimeError, ValueError, KeyError, TypeError, EOFError, OSError, pickle.UnpicklingError) as exc:
            if isinstance(exc, OSError) and exc.errno is not None:
                raise
            raise UserError(f"{self.checkpoint_path}: {checkpoint_problem(exc)}; delete the run folder and start again "
                            "without --resume, or resume with the command that made it") from None
        if self.fabric.is_global_zero:
            self.metrics.truncate_after("epoch", int(state["epoch"]))
        return int(state["epoch"])

    def finish(self, trunk: nn.Module, **extra) -> Path:
        """Write the final trunk checkpoint (architecture recorded) that `monossl probe RUN` reads."""
        if self.fabric.is_global_zero:
            module = getattr(trunk, "module", trunk)
            save_trunk(self.trunk_path, module, self.config.arch, method=self.config.method, **extra)
            for logger in self.fabric.loggers:
                logger.finalize("success")
            print(f"trunk written to {self.trunk_path}", file=sys.stderr, flush=True)
        self.fabric.barrier()
        return self.trunk_path


def checkpoint_problem(exc: BaseException) -> str:
    """What is wrong with a checkpoint that would not load, in a few words: the first mismatching weight with its
    expected and found shapes, or that the file is cut short or is not a checkpoint."""
    text = str(exc)
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("size mismatch for"):  # "... copying a param with shape X from checkpoint, the shape in ..."
            name = line[len("size mismatch for "):].split(":")[0]
            found = line.split("with shape ")[1].split(" from")[0]
            expected = line.split("current model is ")[1].rstrip(".")
            return f"from another method or architecture ({name}: expected {expected}, found {found})"
        if line.startswith(("Missing key(s)", "Unexpected key(s)")):
            return f"from another method or architecture ({line[:120]})"
    if "Weights only load failed" in text:
        return "not a monossl checkpoint (it holds objects other than weights)"
    if isinstance(exc, KeyError):
        return f"not a monossl checkpoint (no {exc})"
    return f"cut short or not a checkpoint ({type(exc).__name__})"


def cpu_clock() -> float:
    """CPU seconds of this process and its finished children (DataLoader workers are joined each epoch)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def make_loggers(kind: str, out: Path) -> list:
    """Fabric's loggers beside metrics.jsonl: none, csv (RUN/logs/csv) or tensorboard (RUN/logs/tensorboard)."""
    if kind == "none":
        return []
    if kind == "csv":
        from lightning.fabric.loggers import CSVLogger

        return [CSVLogger(str(out / "logs"), name="csv", version="")]
    if kind == "tensorboard":
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            raise UserError("--logger tensorboard: tensorboard is not installed; pip install 'monossl[tensorboard]' "
                            "or use --logger csv") from None
        from lightning.fabric.loggers import TensorBoardLogger

        return [TensorBoardLogger(str(out / "logs"), name="tensorboard", version="")]
    raise UserError(f"--logger {kind}: choose none, csv or tensorboard")
