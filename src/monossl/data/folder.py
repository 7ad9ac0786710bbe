"""Image folders in the ImageNet train/val layout (one subfolder per class), and the probes' views.

Training view (RotNet's linear-probe protocol, §4.1): resize the shorter side to 256/224 of the
input size, a random crop of the input size, and a left-right flip with p = 0.5. Evaluation: the
ten crops (four corners and the centre, plus their flips) whose scores the probe averages.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from monossl.data.sources import IMAGE_SUFFIXES, decode_image
from monossl.errors import UserError
from monossl.seeding import rng as seeded_rng


def scan_folder(root: str | Path) -> tuple[list[tuple[Path, int]], list[str]]:
    """(image, class index) pairs of ROOT/CLASS/IMAGE and the sorted class names: the one scan that
    gives both images and labels. An image lying beside the class folders is refused (it has no class)."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: not a folder; pass a folder with one subfolder per class")
    stray = sorted(p.name for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if stray:
        raise UserError(f"{root / stray[0]}: an image beside the class folders ({len(stray)} such); "
                        "move it into a class subfolder or remove it")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir())
    samples = [(p, i) for i, c in enumerate(classes) for p in sorted((root / c).rglob("*"))
               if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    if not samples:
        raise UserError(f"{root}: no images in class subfolders; use the layout ROOT/CLASS/IMAGE.jpg")
    return samples, classes


def per_class_subset(samples: list[tuple[Path, int]], limit: int | None, seed: int) -> list[tuple[Path, int]]:
    """A seeded subset of about `limit` samples with an equal share of every class (in the original order)."""
    if not limit or limit >= len(samples):
        return samples
    labels = np.array([c for _, c in samples])
    classes = np.unique(labels)
    share = max(1, limit // len(classes))
    draw = seeded_rng(seed, "folder-subset", len(samples))
    keep = np.concatenate([draw.choice(np.flatnonzero(labels == c), min(share, int((labels == c).sum())), replace=False)
                           for c in classes])
    return [samples[i] for i in np.sort(keep)]


def folder_images(files: list[Path], size: int, where: str | Path = "") -> np.ndarray:
    """The given images, shorter side resized to `size` and centre-cropped: uint8 (N, S, S, 3)."""
    if not files:
        raise UserError(f"{where}: no images found; pass a folder of .jpg/.png files")
    out = np.empty((len(files), size, size, 3), np.uint8)
    for i, f in enumerate(files):
        img = resize_shorter(Image.fromarray(decode_image(f)), size)
        x, y = (img.width - size) // 2, (img.height - size) // 2
        out[i] = np.asarray(img.crop((x, y, x + size, y + size)))
    return out


def chw(array: np.ndarray) -> torch.Tensor:
    """uint8 HWC -> uint8 CHW; the trunk's own input normalisation is applied later (`nets.prepare_input`)."""
    return torch.from_numpy(np.array(array, copy=True)).permute(2, 0, 1)  # a writable copy: no torch warning


def resize_shorter(img: Image.Image, side: int) -> Image.Image:
    w, h = img.size
    scale = side / min(w, h)
    return img.resize((max(side, round(w * scale)), max(side, round(h * scale))), Image.BILINEAR)


class ImageFolder(Dataset):
    """Labelled images; `crop` sets the input size, `train` picks the training view, else the ten crops (or the
    centre crop alone with `view="centre"`, for kNN)."""

    def __init__(self, root: str | Path, crop: int = 224, train: bool = True, seed: int = 0, classes: list[str] | None = None,
                 limit: int | None = None, view: str = "ten"):
        samples, self.classes = scan_folder(root)
        if classes is not None and self.classes != classes:
            raise UserError(f"{root}: class folders differ from the training folder's; use matching TRAIN_DIR,VAL_DIR")
        self.samples = per_class_subset(samples, limit, seed)
        self.crop, self.train, self.seed, self.epoch, self.view = crop, train, seed, 0, view
        self.resize = round(crop * 256 / 224)

    @property
    def labels(self) -> np.ndarray:
        return np.array([label for _, label in self.samples])

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        path, label = self.samples[index]
        img = resize_shorter(Image.fromarray(decode_image(path)), self.resize)
        w, h = img.size
        c = self.crop
        if self.train:
            rng = seeded_rng(self.seed, "folder-view", self.epoch, index)
            x, y = int(rng.integers(0, w - c + 1)), int(rng.integers(0, h - c + 1))
            patch = np.asarray(img.crop((x, y, x + c, y + c)))
            if rng.random() < 0.5:
                patch = patch[:, ::-1]
            return chw(patch), label
        if self.view == "centre":
            x, y = (w - c) // 2, (h - c) // 2
            return chw(np.asarray(img.crop((x, y, x + c, y + c)))), label
        corners = [(0, 0), (w - c, 0), (0, h - c), (w - c, h - c), ((w - c) // 2, (h - c) // 2)]
        crops = [np.asarray(img.crop((x, y, x + c, y + c))) for x, y in corners]
        crops += [crop[:, ::-1] for crop in crops]
        return torch.stack([chw(crop) for crop in crops]), label


def centre_crops(train_dir: str | Path, val_dir: str | Path, crop: int, train_limit: int | None = None,
                 test_limit: int | None = None, seed: int = 0, workers: int = 0):
    """Both splits of an image folder as in-memory centre crops (the evaluation view of `ImageFolder`), decoded once.

    Returns:
        (train, val) `ArrayDataset`s: uint8 images of shape (N, crop, crop, 3), labels, the class count.
    Raises:
        UserError: a split is not a folder of class subfolders, or their classes differ."""
    from monossl.data.cifar import ArrayDataset

    train = ImageFolder(train_dir, crop=crop, train=False, seed=seed, limit=train_limit, view="centre")
    val = ImageFolder(val_dir, crop=crop, train=False, classes=train.classes, seed=seed, limit=test_limit, view="centre")

    def split(data: ImageFolder, name: str):
        images = np.empty((len(data), crop, crop, 3), np.uint8)
        start = 0
        for batch, _ in torch.utils.data.DataLoader(data, batch_size=64, num_workers=workers):
            images[start:start + len(batch)] = batch.permute(0, 2, 3, 1).numpy()
            start += len(batch)
        return ArrayDataset(images, data.labels, len(data.classes), name)

    return split(train, str(train_dir)), split(val, str(val_dir))
