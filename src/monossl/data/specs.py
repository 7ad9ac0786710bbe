"""The grammar of what monossl reads, parsed in one place: source specs (images to cut patches from) and dataset
specs (labelled sets to probe on).

Source specs, `SourceSpec.parse`:
  * `PATH`: an image file, or a folder (every image inside it, recursively, sorted by path);
  * `cifar10:N` / `cifar100:N`: N training images drawn with the seed (the paper's deka N = 10, kilo N = 1000);
  * `folder:DIR:N`: N images drawn with the seed from an image folder (ImageNet's train/, say);
  * `paper:image_a` / `paper:image_b`: the paper's Image A / B, fetched once and verified;
  * `skimage:NAME`: a public-domain photograph bundled with scikit-image;
  * `synthetic:KIND[:N]`: N rendered images with no photograph behind them (deadleaves, fractal, noise).
A kind registers itself with `source_kind(prefix, grammar)`; its loader turns the parsed spec into images.

Dataset specs, `DatasetSpec.parse`: `cifar10`, `cifar100`, `folder:TRAIN_DIR,VAL_DIR` (ImageNet layout), and
`folder:DIR` where one folder of images is enough (retrieval).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from monossl.errors import UserError


@dataclass(frozen=True)
class SourceKind:
    prefix: str
    grammar: str  # how the spec reads, for messages: "cifar10:N"
    count: str  # "required" | "optional" | "none": whether a :N follows the target
    needs_target: bool  # whether a name or path sits between the prefix and :N
    load: Callable  # (spec, seed, data_root) -> (images, names)
    max_count: int | None = None
    targets: Callable | None = None  # () -> the names a target may take, checked when the spec is parsed


SOURCE_KINDS: dict[str, SourceKind] = {}


def source_kind(prefix: str, grammar: str, count: str = "none", needs_target: bool = True, max_count: int | None = None,
                targets: Callable | None = None):
    """Register the loader of a source kind `prefix:...` (a decorator)."""
    def register(load):
        SOURCE_KINDS[prefix] = SourceKind(prefix, grammar, count, needs_target, load, max_count, targets)
        return load
    return register


@dataclass(frozen=True)
class SourceSpec:
    text: str  # as given
    kind: str  # a registered prefix, or "path"
    target: str = ""  # the path, or the name after the prefix ("image_a", "deadleaves", a folder)
    count: int | None = None

    @classmethod
    def parse(cls, text: str) -> "SourceSpec":
        """Read one source spec.

        Raises:
            UserError: an unknown prefix is taken as a path; a known kind with a malformed target or count is refused,
                naming its grammar."""
        text = str(text)
        prefix, sep, rest = text.partition(":")
        kind = SOURCE_KINDS.get(prefix) if sep else None
        if kind is None:
            return cls(text, "path", text)
        target, count = rest, None
        if kind.count != "none" and ":" in rest:
            target, _, number = rest.rpartition(":")
            count = parse_count(text, number, kind)
        elif kind.count != "none" and not kind.needs_target:  # cifar10:N: the count is all there is
            target, count = "", parse_count(text, rest, kind)
        if kind.count == "required" and count is None:
            raise UserError(f"{text}: give the number of images, as in {kind.grammar}")
        if kind.needs_target and not target:
            raise UserError(f"{text}: read as {kind.grammar}; name what to load")
        if kind.targets is not None and target not in kind.targets():
            raise UserError(f"{text}: read as {kind.grammar}, with {kind.grammar.split(':')[1].strip('[')} one of "
                            f"{', '.join(kind.targets())}")
        return cls(text, prefix, target, count if count is not None else (1 if kind.count == "optional" else None))

    def load(self, seed: int = 0, data_root: str | None = None) -> tuple[list, list[str]]:
        """The decoded images (RGB uint8 arrays) and their names."""
        if self.kind == "path":
            return load_path(self, seed, data_root)
        return SOURCE_KINDS[self.kind].load(self, seed, data_root)


def parse_count(text: str, number: str, kind: SourceKind) -> int:
    try:
        n = int(number)
    except ValueError:
        raise UserError(f"{text}: N must be a whole number, as in {kind.grammar}") from None
    if n < 1 or (kind.max_count is not None and n > kind.max_count):
        raise UserError(f"{text}: N must lie in 1..{kind.max_count}" if kind.max_count else f"{text}: N must be at least 1")
    return n


def load_path(spec: SourceSpec, seed: int, data_root: str | None):
    from monossl.data.sources import decode_image, list_images

    path = Path(spec.target)
    if path.is_dir():
        files = list_images(path)
        if not files:
            raise UserError(f"{path}: no images found in this folder; add .jpg/.png files or pass image paths")
        return [decode_image(f) for f in files], [str(f) for f in files]
    return [decode_image(path)], [spec.text]


@dataclass(frozen=True)
class DatasetSpec:
    text: str
    kind: str  # cifar10 | cifar100 | folder
    dirs: tuple[str, ...] = ()  # folder: (TRAIN_DIR, VAL_DIR), or (DIR,) where one folder is allowed

    @classmethod
    def parse(cls, text: str, splits: int = 2) -> "DatasetSpec":
        """Read a dataset spec; `splits` is how many folders a `folder:` spec must name (2: train and val).

        Raises:
            OptionError: anything else (named as the `dataset` option)."""
        from monossl.errors import OptionError

        grammar = "folder:TRAIN_DIR,VAL_DIR" if splits == 2 else "folder:DIR"
        if text in ("cifar10", "cifar100"):
            return cls(text, text)
        if text.startswith("folder:"):
            dirs = tuple(text[len("folder:"):].split(","))
            if len(dirs) != splits or not all(dirs):
                raise OptionError("dataset", text, f"use {grammar}")
            return cls(text, "folder", dirs)
        raise OptionError("dataset", text, f"choose cifar10, cifar100 or {grammar}")


# -- the built-in kinds -------------------------------------------------------------------------------------------
def cifar_loader(name: str):
    def load(spec: SourceSpec, seed: int, data_root: str | None):
        from monossl.data.cifar import load_cifar
        from monossl.seeding import rng

        train = load_cifar(name, data_root, train=True)
        if spec.count > len(train.labels):
            raise UserError(f"{spec.text}: the training set holds {len(train.labels)} images; lower N")
        ids = sorted(rng(seed, "source-draw", name).choice(len(train.labels), size=spec.count, replace=False).tolist())
        return [train.images[i].copy() for i in ids], [f"{name}:train[{i}]" for i in ids]
    return load


source_kind("cifar10", "cifar10:N", "required", needs_target=False)(cifar_loader("cifar10"))
source_kind("cifar100", "cifar100:N", "required", needs_target=False)(cifar_loader("cifar100"))


@source_kind("folder", "folder:DIR:N", "required")
def load_folder_draw(spec: SourceSpec, seed: int, data_root: str | None):
    from monossl.data.sources import decode_image, list_images
    from monossl.seeding import rng

    files = list_images(Path(spec.target))
    if not files:
        raise UserError(f"{spec.target}: no images found in this folder; point folder:DIR:N at an image folder")
    if spec.count > len(files):
        raise UserError(f"{spec.text}: asks for {spec.count} images but {spec.target} holds {len(files)}; lower N")
    pick = sorted(rng(seed, "source-draw", "folder").choice(len(files), size=spec.count, replace=False).tolist())
    return [decode_image(files[i]) for i in pick], [str(files[i]) for i in pick]


def paper_names():
    from monossl.data.paper_images import PAPER_IMAGES

    return tuple(PAPER_IMAGES)


def photo_names():
    from monossl.data.sources import PHOTOS

    return PHOTOS


def synthetic_names():
    from monossl.data.synthetic import KINDS

    return tuple(KINDS)


@source_kind("paper", "paper:NAME", targets=paper_names)
def load_paper(spec: SourceSpec, seed: int, data_root: str | None):
    from monossl.data.paper_images import paper_image
    from monossl.data.sources import decode_image

    return [decode_image(paper_image(spec.target, data_root=data_root))], [spec.text]


@source_kind("skimage", "skimage:NAME", targets=photo_names)
def load_skimage(spec: SourceSpec, seed: int, data_root: str | None):
    from monossl.data.sources import bundled_photo

    return [bundled_photo(spec.target)], [spec.text]


@source_kind("synthetic", "synthetic:KIND[:N]", "optional", max_count=10_000, targets=synthetic_names)
def load_synthetic(spec: SourceSpec, seed: int, data_root: str | None):
    from monossl.data.synthetic import render

    return [render(spec.target, j, seed) for j in range(spec.count)], [f"synthetic:{spec.target}[{j}]"
                                                                       for j in range(spec.count)]


def load_sources(specs, seed: int = 0, data_root: str | None = None) -> tuple[list, list[str]]:
    """Resolve source specs (strings or `SourceSpec`s) to decoded images and their names, in order.

    Raises:
        UserError: no specs, or any spec that cannot be read."""
    if isinstance(specs, (str, Path, SourceSpec)):
        specs = [specs]
    images, names = [], []
    for spec in specs:
        spec = spec if isinstance(spec, SourceSpec) else SourceSpec.parse(str(spec))
        got, named = spec.load(seed, data_root)
        images += got
        names += named
    if not images:
        raise UserError("no source images given; pass image files, a folder, or cifar10:N")
    return images, names
