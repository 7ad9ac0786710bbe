"""Patches for training: an on-the-fly torch dataset, and a materialised set on disk.

On disk (`monossl generate`):
  * npy: `DIR/patches.npy`, uint8 (D, S, S, 3), memory-mappable, plus `DIR/meta.json`;
  * png: `DIR/train/patches/0000000.png ...` (an image-folder layout), plus `DIR/meta.json`.
`meta.json` is written last and marks the set complete. Until then the npy data lives in
`patches.npy.partial` with `progress.json` counting the patches safely on disk, so `--resume`
continues where a killed run stopped.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from tqdm import tqdm

from monossl.data.sampler import PatchSampler
from monossl.errors import OptionError, UserError, opt
from monossl.rundir import LOCK, atomic_write_bytes, read_json, read_state, write_json, writer_lock


def to_unit_range(patches_uint8: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (..., S, S, 3) -> float (..., 3, S, S) in (-1, 1), as §3.1 feeds the networks."""
    t = torch.as_tensor(patches_uint8)
    return t.movedim(-1, -3).float().div_(127.5).sub_(1.0)


class PatchDataset(Dataset):
    """Patches generated on the fly. Item i is a pure function of (seed, i), so any number of
    DataLoader workers gives the same data; no per-worker seeding is needed.

    With `endless=True`, `set_epoch(e)` moves to the fresh indices [e*length, (e+1)*length):
    every epoch sees new patches. Otherwise every epoch sees the same `length` patches.
    """

    def __init__(self, sampler: PatchSampler, length: int, endless: bool = False):
        if length < 1:
            raise UserError(f"--count {length}: must be at least 1")
        self.sampler, self.length, self.endless, self.offset = sampler, int(length), endless, 0

    def set_epoch(self, epoch: int) -> None:
        self.offset = epoch * self.length if self.endless else 0

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> list[torch.Tensor]:
        batch = to_unit_range(self.sampler.patches(np.asarray(indices) + self.offset))
        return list(batch.unbind(0))


class ArrayPatchDataset(Dataset):
    """A materialised patch set (or any uint8 NHWC array) read lazily from a memory map."""

    def __init__(self, array: np.ndarray):
        self.array = array

    def set_epoch(self, epoch: int) -> None:
        """A fixed dataset: every epoch sees the same images."""

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, index: int) -> torch.Tensor:
        return to_unit_range(np.asarray(self.array[index]))

    def __getitems__(self, indices: list[int]) -> list[torch.Tensor]:
        order = np.asarray(indices)
        return list(to_unit_range(self.array[np.sort(order)][np.argsort(np.argsort(order))]).unbind(0))


class NoiseDataset(Dataset):
    """Images of i.i.d. Gaussian pixel noise (mean 0, std 0.5, clipped to (-1, 1)), no image behind them: the lower
    bound of what an input can teach. Image i is a pure function of (seed, i); `endless` draws fresh ones each epoch."""

    def __init__(self, length: int, size: int, seed: int = 0, endless: bool = False):
        self.length, self.size, self.seed, self.endless, self.offset = int(length), int(size), int(seed), endless, 0

    def set_epoch(self, epoch: int) -> None:
        self.offset = epoch * self.length if self.endless else 0

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> torch.Tensor:
        from monossl.seeding import generator

        g = generator(self.seed, "gaussian-noise", index + self.offset)
        return (torch.randn(3, self.size, self.size, generator=g) * 0.5).clamp_(-1, 1)


def patch_dir_meta(path: str | Path) -> dict:
    """The meta.json of a finished `monossl generate` folder, or a one-line refusal."""
    path = Path(path)
    meta_path = path / "meta.json"
    if not path.is_dir():
        raise UserError(f"--patches {path}: not a folder; pass a `monossl generate` output folder")
    if not meta_path.exists():
        hint = " (it was interrupted: rerun its `monossl generate` command with --resume)" if (path / "progress.json").exists() else ""
        raise UserError(f"{path}: not a finished patch set (no meta.json){hint}; run `monossl generate` (or --resume it)")
    try:
        meta = read_json(meta_path)
        count, shape = int(meta["count"]), list(meta["shape"])
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{meta_path}: unreadable or not written by `monossl generate`; regenerate the patch set") from None
    if count < 1 or len(shape) != 4 or shape[0] != count or shape[3] != 3 or shape[1] != shape[2]:
        raise UserError(f"{meta_path}: describes no valid patch set (count {count}, shape {shape}); regenerate it")
    return meta


def load_patch_dir(path: str | Path) -> np.ndarray:
    """Open a complete `monossl generate` output as a uint8 (D, S, S, 3) array (memory-mapped for npy),
    refusing incomplete, truncated or foreign data (wrong dtype, shape or count) with one line."""
    path = Path(path)
    meta = patch_dir_meta(path)
    count, size = meta["count"], meta["shape"][1]
    if meta.get("format") == "png":
        files = sorted((path / "train" / "patches").glob("*.png"))
        if len(files) != count:
            raise UserError(f"{path}: holds {len(files)} PNG patches but meta.json says {count}; regenerate the patch set")
        from monossl.data.sources import decode_image

        array = np.stack([decode_image(f) for f in files])
    else:
        try:
            array = np.load(path / "patches.npy", mmap_mode="r")
        except FileNotFoundError:
            raise UserError(f"{path}: patches.npy is missing; regenerate the patch set") from None
        except (ValueError, OSError) as exc:
            raise UserError(f"{path / 'patches.npy'}: truncated or not a NumPy array ({exc}); regenerate the patch set") from None
    if array.dtype != np.uint8:
        raise UserError(f"{path}: patches are {array.dtype}, monossl reads uint8 RGB in 0..255; "
                        "regenerate them with `monossl generate` (or convert with (x * 255).round().astype('uint8'))")
    if array.ndim != 4 or array.shape[1:] != (size, size, 3) or len(array) != count:
        raise UserError(f"{path}: patches have shape {array.shape}, meta.json says ({count}, {size}, {size}, 3); "
                        "regenerate the patch set")
    return array


_WORKER_SAMPLER: PatchSampler | None = None


def _worker_init(sampler: PatchSampler) -> None:
    global _WORKER_SAMPLER
    torch.set_num_threads(1)
    _WORKER_SAMPLER = sampler


def _worker_render(span: tuple[int, int]) -> np.ndarray:
    return _WORKER_SAMPLER.patches(np.arange(*span))


def materialise(sampler: PatchSampler, count: int, out: str | Path, fmt: str = "npy", workers: int = 0,
                resume: bool = False, chunk: int | None = None, progress: bool | None = None,
                extra_meta: dict | None = None) -> Path:
    """Write `count` patches to `out` (see the module docstring). Returns the output folder."""
    out = Path(out)
    if count < 1:
        raise OptionError("count", count, "must be at least 1")
    if fmt not in ("npy", "png"):
        raise OptionError("format", fmt, "choose npy or png")
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is a file; choose a folder for {opt('out')}")
    meta = dict(format=fmt, count=count, seed=sampler.seed, sources=sampler.names,
                augment=sampler.config.to_dict(), shape=[count, sampler.config.size, sampler.config.size, 3],
                source_rule="patch i comes from source i mod N", **(extra_meta or {}))
    meta = json.loads(json.dumps(meta))  # as it reads back from disk
    done = patches_done(out, meta, resume)
    if done == count and (out / "meta.json").exists():
        return out
    S = sampler.config.size
    chunk = chunk or max(1, (1 << 22) // (S * S))  # ~12 MB a chunk: flush and fsync progress rarely
    spans = [(s, min(s + chunk, count)) for s in range(done, count, chunk)]
    if fmt == "npy":
        partial = out / "patches.npy.partial"
        mode = "r+" if done else "w+"
        array = np.lib.format.open_memmap(partial, mode=mode, dtype=np.uint8, shape=(count, S, S, 3))
    bar = tqdm(total=count, initial=done, unit="patch", disable=not (sys.stderr.isatty() if progress is None else progress))
    for (start, stop), block in zip(spans, _render_spans(sampler, spans, workers)):
        if fmt == "npy":
            array[start:stop] = block
            array.flush()
        else:
            for i, patch in zip(range(start, stop), block):
                atomic_write_bytes(out / "train" / "patches" / f"{i:07d}.png", _png_bytes(patch))
        write_json(out / "progress.json", {"done": stop, "meta": meta})
        bar.update(stop - start)
    bar.close()
    if fmt == "npy":
        del array
        partial.replace(out / "patches.npy")
    write_json(out / "meta.json", meta)
    (out / "progress.json").unlink(missing_ok=True)
    return out


def generate(options, resume: bool = False) -> str:
    """`monossl generate`: decode the sources, cut `options.count` patches, write them to `options.out`."""
    from monossl.data.specs import load_sources

    out = Path(options.out)
    complete = (out / "meta.json").exists()
    images, names = load_sources(list(options.sources), seed=options.seed, data_root=options.data_root)
    sampler = PatchSampler(images, options.augment, seed=options.seed, names=names)
    del images
    with writer_lock(out):
        materialise(sampler, options.count, out, fmt=options.format, workers=options.workers, resume=resume)
    size = options.augment.size
    if complete:
        return f"{out}: already complete ({options.count} patches of {size}x{size}); nothing to do"
    return f"wrote {options.count} patches of {size}x{size} to {out}"


def patches_done(out: Path, meta: dict, resume: bool) -> int:
    """How many patches are already on disk. A finished set (meta.json) is never removed: with the same settings
    it is complete (all `count`), with others the command is refused; so is a foreign or unfinished folder without
    `resume`."""
    progress, finished = out / "progress.json", out / "meta.json"
    if finished.exists():
        made = read_state(finished, "delete the folder and generate it again")
        if resume and made == meta:
            return int(meta["count"])
        changed = sorted(k for k in made.keys() | meta.keys() if made.get(k) != meta.get(k))
        raise UserError(f"{out}: holds a finished patch set" + (f" made with other settings ({', '.join(changed[:3])})"
                        if changed else "") + f"; choose a new {opt('out')} (nothing was changed)")
    if resume and progress.exists():
        state = read_state(progress, f"delete {progress.name} and patches.npy.partial, then rerun without {opt('resume')}")
        if state.get("meta") != meta or not isinstance(state.get("done"), int):
            raise UserError(f"{out}: {opt('resume')} with different settings than the interrupted run; "
                            f"repeat the original command or choose a new {opt('out')}")
        return int(state["done"])
    if out.exists() and any(p.name != LOCK for p in out.iterdir()) and not resume:
        raise UserError(f"{out}: folder is not empty; pass {opt('resume')} to continue it or choose a new {opt('out')}")
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("patches.npy", "patches.npy.partial"):  # an unfinished set's pieces (no meta.json: never complete)
        (out / stale).unlink(missing_ok=True)
    return 0


def _render_spans(sampler: PatchSampler, spans, workers: int):
    if workers <= 1:
        for span in spans:
            yield sampler.patches(np.arange(*span))
        return
    with mp.get_context("fork").Pool(workers, initializer=_worker_init, initargs=(sampler,)) as pool:
        yield from pool.imap(_worker_render, spans)


def _png_bytes(patch: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.fromarray(patch).save(buffer, format="PNG")
    return buffer.getvalue()
