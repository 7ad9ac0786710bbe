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



def scan_folder(root: str | Path) -> tuple[list[tuple[Path, int]], list[str]]:
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: not a folder; pass TRAIN_DIR,VAL_DIR with one subfolder per class")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir())
    samples = [(p, i) for i, c in enumerate(classes) for p in sorted((root / c).rglob("*"))
               if p.suffix.lower() in IMAGE_SUFFIXES]
    if not samples:
        raise UserError(f"{root}: no images in class subfolders; use the layout ROOT/CLASS/IMAGE.jpg")
    return samples, classes


def chw(array: np.ndarray) -> torch.Tensor:
    """uint8 HWC -> uint8 CHW; the trunk's own input normalisation is applied later (`nets.prepare_input`)."""
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1)


def resize_shorter(img: Image.Image, side: int) -> Image.Image:
    w, h = img.size
    scale = side / min(w, h)
    return img.resize((max(side, round(w * scale)), max(side, round(h * scale))), Image.BILINEAR)


class ImageFolder(Dataset):
    """Labelled images; `crop` sets the input size, `train` picks the training view or the ten crops."""

    def __init__(self, root: str | Path, crop: int = 224, train: bool = True, seed: int = 0, classes: list[str] | None = None):
        self.samples, self.classes = scan_folder(root)
        if classes is not None and self.classes != classes:
            raise UserError(f"{root}: class folders differ from the training folder's; use matching TRAIN_DIR,VAL_DIR")
        self.crop, self.train, self.seed, self.epoch = crop, train, seed, 0
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
            rng = np.random.default_rng([self.seed, self.epoch, index])
            x, y = int(rng.integers(0, w - c + 1)), int(rng.integers(0, h - c + 1))
            patch = np.asarray(img.crop((x, y, x + c, y + c)))
            if rng.random() < 0.5:
                patch = patch[:, ::-1]
            return chw(patch), label
        corners = [(0, 0), (w - c, 0), (0, h - c), (w - c, h - c), ((w - c) // 2, (h - c) // 2)]
        crops = [np.asarray(img.crop((x, y, x + c, y + c))) for x, y in corners]
        crops += [crop[:, ::-1] for crop in crops]
        return torch.stack([chw(crop) for crop in crops]), label
