"""CIFAR-10 / CIFAR-100 in the official python layout, with a verified download.

Root: `--data-root`, else `$MONOSSL_DATA`, else `~/.cache/monossl`. An extracted copy is accepted
after checking shapes, label ranges and counts (not pickle checksums, which differ between
redistributions); when absent, the official archive is downloaded, its published MD5 checked, and
extracted. Offline, the error says where to put the files.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monossl.errors import UserError

SPECS = {
    "cifar10": dict(folder="cifar-10-batches-py", url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                    md5="c58f30108f718f92721af3b95e74349a", train=[f"data_batch_{i}" for i in range(1, 6)],
                    test=["test_batch"], label_key="labels", classes=10, counts=(50000, 10000)),
    "cifar100": dict(folder="cifar-100-python", url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                     md5="eb9058c3a382ffc7106e4002c42a8d85", train=["train"], test=["test"],
                     label_key="fine_labels", classes=100, counts=(50000, 10000)),
}


@dataclass
class ArrayDataset:
    """Images as uint8 (N, H, W, 3) and integer labels."""

    images: np.ndarray
    labels: np.ndarray
    num_classes: int
    name: str


def default_root(data_root: str | Path | None = None) -> Path:
    if data_root:
        return Path(data_root)
    if os.environ.get("MONOSSL_DATA"):
        return Path(os.environ["MONOSSL_DATA"])
    return Path.home() / ".cache" / "monossl"


def ensure_cifar(name: str, data_root: str | Path | None = None) -> Path:
    """The folder of an extracted CIFAR set under the root, downloading it first when absent."""
    spec = SPECS[name]
    root = default_root(data_root)
    if not (root / spec["folder"]).exists():
        fetch_archive(name, root)
    return root / spec["folder"]


def load_cifar(name: str, data_root: str | Path | None = None, train: bool = True, download: bool = True,
               label_key: str | None = None) -> ArrayDataset:
    """Load the train or test split; download it first when the root lacks it."""
    spec = SPECS[name]
    folder = default_root(data_root) / spec["folder"]
    if not folder.exists() and not download:
        raise UserError(f"{folder}: not found; put the official {spec['folder']}/ there or pass --data-root")
    folder = ensure_cifar(name, data_root)
    files = spec["train"] if train else spec["test"]
    key = label_key or spec["label_key"]
    images, labels = [], []
    for file in files:
        path = folder / file
        if not path.exists():
            raise UserError(f"{path}: missing batch; restore the official {spec['folder']}/ folder (or delete it to re-download)")
        try:
            with path.open("rb") as handle:
                batch = pickle.load(handle, encoding="latin1")
            data = np.asarray(batch["data"], dtype=np.uint8)
            batch_labels = np.asarray(batch[key], dtype=np.int64)
        except Exception as exc:  # noqa: BLE001 - any failure here means a malformed batch
            raise UserError(f"{path}: malformed CIFAR batch ({type(exc).__name__}); re-download or restore it") from None
        if data.ndim != 2 or data.shape[1] != 3072 or len(batch_labels) != len(data):
            raise UserError(f"{path}: expected (N, 3072) data with N labels, got {data.shape} and {len(batch_labels)}")
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(batch_labels)
    labels = np.concatenate(labels)
    if labels.min() < 0 or labels.max() >= spec["classes"]:
        raise UserError(f"{folder}: labels outside 0..{spec['classes'] - 1}; the files are not {name}")
    expected = spec["counts"][0 if train else 1]
    if len(labels) != expected:
        raise UserError(f"{folder}: {len(labels)} {'train' if train else 'test'} images, expected {expected}; restore the folder")
    return ArrayDataset(np.ascontiguousarray(np.concatenate(images)), labels, spec["classes"], name)


def fetch_archive(name: str, root: Path, url: str | None = None) -> None:
    """Download the official archive, check its MD5 and extract it under root."""
    spec = SPECS[name]
    url = url or os.environ.get(f"MONOSSL_{name.upper()}_URL", spec["url"])
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "archive.tar.gz"
        try:
            with urllib.request.urlopen(url, timeout=30) as response, archive.open("wb") as out:
                shutil.copyfileobj(response, out)
        except (urllib.error.URLError, OSError) as exc:
            raise UserError(f"cannot download {name} from {url} ({getattr(exc, 'reason', exc)}); put the official "
                            f"{spec['folder']}/ under {root} or pass --data-root") from None
        digest = hashlib.md5(archive.read_bytes()).hexdigest()
        if digest != spec["md5"]:
            raise UserError(f"{url}: checksum {digest} does not match the published {spec['md5']}; retry or download by hand")
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        if not (Path(tmp) / spec["folder"]).is_dir():
            raise UserError(f"{url}: archive lacks {spec['folder']}/; download it by hand")
        root.mkdir(parents=True, exist_ok=True)
        shutil.move(str(Path(tmp) / spec["folder"]), str(root / spec["folder"]))
