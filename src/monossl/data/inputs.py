"""What a pretraining run trains on, in one place: `TrainInput`.

Exactly one of:
  * `sources`: images (files, folders, `cifar10:N`, `folder:DIR:N`) expanded on the fly into `count`
    §3.1 patches per epoch (the same `count` patches every epoch, or fresh ones with `endless`);
  * `patches`: a finished `monossl generate` folder;
  * `dataset`: CIFAR-10 / CIFAR-100's training set (labels used only by `supervised`);
  * `folder`: an image folder (class subfolders give labels to `supervised`).
`augment` is the §3.1 configuration and the only home of the patch size S (`augment.size`): every
input is checked against it. `unlabelled()` gives (-1, 1) images for the self-supervised methods,
`labelled()` uint8 images with labels for `supervised`. Epoch-dependent data (endless patches) moves
only when a method's loop calls `set_epoch` on the dataset.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from monossl.data.augment import AugmentConfig
from monossl.errors import UserError, opt
from monossl.options import Options, build, nested, option, to_dict

if TYPE_CHECKING:
    import numpy as np
    from torch.utils.data import Dataset

DATA_ROOT = "$MONOSSL_DATA, else ~/.cache/monossl"  # where datasets are looked for when no root is given (data.cifar)
DATASETS = ("cifar10", "cifar100", "gaussian-noise")  # gaussian-noise: `count` images of pixel noise, no labels


@dataclass(frozen=True)
class TrainInput(Options):
    """What a run trains on: exactly one of sources, patches, dataset, folder."""

    sources: tuple[str, ...] = option((), "on-the-fly §3.1 patches from these source specs (image files, folders, "
                                      "cifar10:N, folder:DIR:N, paper:image_a, skimage:NAME, synthetic:KIND[:N])",
                                      flag="--source", nargs="+", metavar="SPEC")
    patches: str | None = option(None, "a `monossl generate` output folder", metavar="DIR")
    dataset: str | None = option(None, "a whole dataset (labels unused except by supervised); gaussian-noise: --count "
                                 "images of i.i.d. pixel noise", choices=DATASETS)
    folder: str | None = option(None, "an image folder (class subfolders give labels to supervised)", metavar="DIR")
    count: int = option(50000, "d: patches per epoch from --source", low=1)
    endless: bool = option(False, "fresh patches every epoch (else the same d patches)")
    augment: AugmentConfig = nested(AugmentConfig, "augmentation (§3.1)")
    data_root: str | None = option(None, "dataset root for --dataset and cifar10:N sources", metavar="DIR",
                                   shown=DATA_ROOT)

    @property
    def size(self) -> int:
        return self.augment.size

    @property
    def kind(self) -> str:
        return "sources" if self.sources else "patches" if self.patches else "dataset" if self.dataset else "folder"

    def validate(self) -> "TrainInput":
        """Checks across fields; whether exactly one input is given is checked when a run starts (`require_one`),
        so that a config can be assembled step by step."""
        if self.dataset in ("cifar10", "cifar100") and self.size != 32:
            raise UserError(f"{opt('dataset')} {self.dataset} holds 32x32 images but {opt('size')} is {self.size}; "
                            f"pass {opt('size')} 32")
        return self

    def require_one(self) -> "TrainInput":
        """Exactly one input, and every source spec readable as written (paths that exist), before a run starts."""
        from monossl.data.specs import SourceSpec

        chosen = [bool(self.sources), bool(self.patches), bool(self.dataset), bool(self.folder)]
        if sum(chosen) != 1:
            raise UserError(f"give exactly one input: {opt('sources')} SPEC..., {opt('patches')} DIR, {opt('dataset')} "
                            f"NAME or {opt('folder')} DIR")
        for text in self.sources:
            spec = SourceSpec.parse(text)
            if spec.kind == "path" and not Path(spec.target).exists():
                raise UserError(f"{text}: no such file or folder, and not a source spec (cifar10:N, folder:DIR:N, "
                                "paper:NAME, skimage:NAME, synthetic:KIND[:N]); check the path")
        return self

    # -- the shape written to config.json --------------------------------------------------------
    def to_dict(self) -> dict:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainInput":
        return build(cls, data)

    def with_size(self, size: int) -> "TrainInput":
        return replace(self, augment=replace(self.augment, size=size))

    # -- datasets --------------------------------------------------------------------------------
    def unlabelled(self, seed: int) -> Dataset:
        """S x S images in (-1, 1), each item one image; every dataset has `set_epoch`."""
        from monossl.data.patches import ArrayPatchDataset, PatchDataset, load_patch_dir

        if self.sources:
            return PatchDataset(self.sampler(seed), self.count, endless=self.endless)
        if self.patches:
            array = load_patch_dir(self.patches)
            self.check_size(array.shape[1], f"{opt('patches')} {self.patches}")
            return ArrayPatchDataset(array)
        if self.dataset == "gaussian-noise":
            from monossl.data.patches import NoiseDataset

            return NoiseDataset(self.count, self.size, seed, self.endless)
        if self.dataset:
            return ArrayPatchDataset(self.labelled()[0])
        from monossl.data.folder import folder_images
        from monossl.data.sources import list_images

        return ArrayPatchDataset(folder_images(list_images(self.folder), self.size, self.folder))

    def sampler(self, seed: int):
        from monossl.data.sampler import PatchSampler
        from monossl.data.specs import load_sources

        images, names = load_sources(list(self.sources), seed=seed, data_root=self.data_root)
        return PatchSampler(images, self.augment, seed, names)

    def labelled(self) -> tuple["np.ndarray", "np.ndarray", int]:
        """uint8 (N, S, S, 3) images, int64 labels and the class count of `dataset` or a labelled `folder`."""
        if self.dataset in ("cifar10", "cifar100"):
            from monossl.data.cifar import load_cifar

            data = load_cifar(self.dataset, self.data_root, train=True)
            return data.images, data.labels, data.num_classes
        if self.folder:
            from monossl.data.folder import folder_images, scan_folder

            samples, classes = scan_folder(self.folder)
            images = folder_images([p for p, _ in samples], self.size, self.folder)
            import numpy as np

            return images, np.array([c for _, c in samples], dtype=np.int64), len(classes)
        raise UserError(f"this method needs labels: use {opt('dataset')} cifar10|cifar100 or {opt('folder')} DIR with class "
                        "subfolders")

    def length(self) -> int | None:
        """Training images per epoch, known without decoding anything (None when it is not)."""
        if self.sources or self.dataset == "gaussian-noise":
            return self.count
        if self.patches:
            from monossl.data.patches import patch_dir_meta

            return int(patch_dir_meta(self.patches)["count"])
        if self.dataset:
            from monossl.data.cifar import SPECS

            return SPECS[self.dataset]["counts"][0]
        from monossl.data.sources import list_images

        if not Path(self.folder).is_dir():
            raise UserError(f"{opt('folder')} {self.folder}: not a folder; pass a folder of images")
        return len(list_images(Path(self.folder)))

    def check_size(self, size: int, what: str) -> None:
        if size != self.size:
            raise UserError(f"{what} holds {size}x{size} images but {opt('size')} is {self.size}; pass {opt('size')} {size}")
