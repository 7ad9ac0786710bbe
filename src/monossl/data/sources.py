"""Source images: decoding and validation (the grammar of source specs is `monossl.data.specs`).

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
# scikit-image's bundled photographs in the public domain / CC0 (skimage.data docs). In colour: the astronaut
# Eileen Collins (NASA), Chelsea the cat (S. van der Walt), a cup of coffee (R. Michetti), a SpaceX rocket launch,
# and the Hubble eXtreme Deep Field (NASA). In grey (expanded to RGB): a motion-blurred wall clock
# (S. van der Walt), dense grass (CC0) and "text", handwritten formulas on lined paper (Wikipedia's Corner.png).
# Also: a fundus photograph of a retina (CC0), colonic glands under IHC staining (no known restrictions); in grey, a
# photographer with a camera (CC0, L. Varshney), Greek coins (Brooklyn Museum, no known restrictions), a scanned
# printed page, the low-contrast surface of the moon, and a brick wall and gravel (CC0Textures)
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "clock", "grass", "text", "retina",
          "immunohistochemistry", "camera", "coins", "page", "moon", "brick", "gravel")
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


def bundled_photo(name: str) -> np.ndarray:
    """One of scikit-image's bundled public-domain photographs as RGB uint8 (`to_rgb_array`: grey ones expanded)."""
    if name not in PHOTOS:
        raise UserError(f"skimage:{name}: choose one of {', '.join(PHOTOS)}")
    from skimage import data

    return to_rgb_array(Image.fromarray(getattr(data, name)()))


