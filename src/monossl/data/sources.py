"""Source images: decoding, validation, and N images drawn with a seed from a dataset.

A source spec is one of:
  * an image file;
  * a folder (every image inside it, recursively, sorted by path);
  * `cifar10:N` / `cifar100:N`: N training images drawn with the seed (the paper's deka/kilo settings);
  * `folder:DIR:N`: N images drawn with the seed from an image folder (ImageNet train, say);
  * `paper:image_a` / `paper:image_b`: the paper's Image A / B, fetched once and verified
    (`monossl.data.paper_images`);
  * `synthetic:KIND[:N]`: N rendered images with no photograph behind them, KIND deadleaves, fractal
    or noise (`monossl.data.synthetic`), drawn with the seed;
  * `skimage:NAME`: a public-domain colour photograph that ships with scikit-image (PHOTOS).
Images are decoded to RGB uint8: EXIF orientation is honoured, grayscale and palette images are
expanded, CMYK converted, 16-bit images scaled down to 8 bits, and alpha composited onto white.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from monossl.errors import UserError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
# scikit-image's bundled colour photographs in the public domain / CC0 (skimage.data docs): the astronaut
# Eileen Collins (NASA), Chelsea the cat (S. van der Walt), a cup of coffee (R. Michetti), a SpaceX
# rocket launch, and the Hubble eXtreme Deep Field (NASA)
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field")
MAX_PIXELS = 200_000_000  # decompression-bomb guard; larger images are refused, not decoded


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def decode_image(path: Path, max_pixels: int | None = None) -> np.ndarray:
    """Decode one image file to an RGB uint8 array of shape (H, W, 3), or raise UserError."""
    path = Path(path)
    max_pixels = max_pixels or MAX_PIXELS
    if not path.exists():
        raise UserError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise UserError(f"{path}: is a folder; pass image files or the folder as a source on its own")
    if path.stat().st_size == 0:
        raise UserError(f"{path}: empty file (0 bytes); replace it with a valid image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.width * img.height > max_pixels:
                    raise UserError(f"{path}: {img.width}x{img.height} exceeds the {max_pixels:,} pixel limit "
                                    "(decompression-bomb guard); downscale the image first")
                img.load()
                img = ImageOps.exif_transpose(img)
                return to_rgb_array(img)
    except UserError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UserError(f"{path}: exceeds the pixel limit (decompression-bomb guard); downscale the image first") from None
    except UnidentifiedImageError as exc:
        raise UserError(f"{path}: not a readable image ({type(exc).__name__}); pass a JPEG/PNG/... file") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UserError(f"{path}: corrupt or truncated image ({exc}); re-export or replace the file") from None


def to_rgb_array(img: Image.Image) -> np.ndarray:
    """RGB uint8 from any Pillow mode; 16/32-bit integer images are scaled, alpha goes onto white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img).astype(np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        gray = np.clip(np.rint(arr / top * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


def load_sources(specs: list[str] | str, seed: int = 0, data_root: str | None = None) -> tuple[list[np.ndarray], list[str]]:
    """Resolve source specs to decoded images and their names (in a fixed order)."""
    if isinstance(specs, (str, Path)):
        specs = [str(specs)]
    images: list[np.ndarray] = []
    names: list[str] = []
    for spec in specs:
        spec = str(spec)
        kind, _, rest = spec.partition(":")
        if kind in ("cifar10", "cifar100") and rest:
            imgs, ids = draw_from_cifar(kind, parse_count(spec, rest), seed, data_root)
            images += imgs
            names += [f"{kind}:train[{i}]" for i in ids]
        elif kind == "synthetic":
            from monossl.data.synthetic import parse, render

            name, n = parse(spec)
            for j in range(n):
                images.append(render(name, j, seed))
                names.append(f"synthetic:{name}[{j}]")
        elif kind == "skimage":
            images.append(bundled_photo(rest))
            names.append(spec)
        elif kind == "paper" and rest:
            from monossl.data.paper_images import paper_image

            path = paper_image(rest, data_root=data_root)
            images.append(decode_image(path))
            names.append(spec)
        elif kind == "folder" and rest:
            folder, _, count = rest.rpartition(":")
            files = list_images(Path(folder))
            if not files:
                raise UserError(f"{folder}: no images found in this folder; point folder:DIR:N at an image folder")
            n = parse_count(spec, count)
            if n > len(files):
                raise UserError(f"{spec}: asks for {n} images but {folder} holds {len(files)}; lower N")
            pick = np.random.default_rng(seed).choice(len(files), size=n, replace=False)
            for i in sorted(pick):
                images.append(decode_image(files[i]))
                names.append(str(files[i]))
        elif Path(spec).is_dir():
            files = list_images(Path(spec))
            if not files:
                raise UserError(f"{spec}: no images found in this folder; add .jpg/.png files or pass image paths")
            for f in files:
                images.append(decode_image(f))
                names.append(str(f))
        else:
            images.append(decode_image(Path(spec)))
            names.append(spec)
    if not images:
        raise UserError("no source images given; pass image files, a folder, or cifar10:N")
    return images, names


def bundled_photo(name: str) -> np.ndarray:
    """One of scikit-image's bundled public-domain photographs as RGB uint8."""
    if name not in PHOTOS:
        raise UserError(f"skimage:{name}: choose one of {', '.join(PHOTOS)}")
    from skimage import data

    return np.ascontiguousarray(getattr(data, name)()[..., :3])


def parse_count(spec: str, text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise UserError(f"{spec}: N must be a whole number, as in cifar10:10") from None
    if n < 1:
        raise UserError(f"{spec}: N must be at least 1")
    return n


def draw_from_cifar(name: str, n: int, seed: int, data_root: str | None):
    from monossl.data.cifar import load_cifar

    train = load_cifar(name, data_root, train=True)
    if n > len(train.labels):
        raise UserError(f"{name}:{n}: the training set holds {len(train.labels)} images; lower N")
    ids = sorted(np.random.default_rng(seed).choice(len(train.labels), size=n, replace=False).tolist())
    return [np.ascontiguousarray(train.images[i]) for i in ids], ids
