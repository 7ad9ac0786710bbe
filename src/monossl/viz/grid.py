"""Image grids (contact sheets, GAN samples, filter banks) written atomically as PNG."""
from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from monossl.rundir import atomic_write_bytes


def grid_array(images: np.ndarray | torch.Tensor, ncol: int | None = None, pad: int = 2, fill: int = 255) -> np.ndarray:
    """Tile uint8 (N, H, W, 3) images, or float (N, 3, H, W) in (-1, 1), into one uint8 image."""
    if isinstance(images, torch.Tensor):
        images = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    n, h, w, c = images.shape
    ncol = ncol or math.ceil(math.sqrt(n))
    nrow = math.ceil(n / ncol)
    sheet = np.full((nrow * (h + pad) + pad, ncol * (w + pad) + pad, c), fill, np.uint8)
    for i, img in enumerate(images):
        r, q = divmod(i, ncol)
        sheet[pad + r * (h + pad): pad + r * (h + pad) + h, pad + q * (w + pad): pad + q * (w + pad) + w] = img
    return sheet


def save_grid(images, path: str | Path, ncol: int | None = None, scale: int = 1) -> Path:
    sheet = Image.fromarray(grid_array(images, ncol))
    if scale > 1:
        sheet = sheet.resize((sheet.width * scale, sheet.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)
