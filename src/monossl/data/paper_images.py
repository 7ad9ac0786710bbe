"""The paper's two source images, fetched on first use and verified (never bundled: the authors'
repository publishes them without a licence).

Image A (2560x1920 photograph, "ameyoko.jpg") and Image B (600x225 drawing, "animals.png") come from
the authors' public repository `yukimasano/single_img_pretraining` (branch `main`, folder `images/`).
Lookup order: `--images DIR` / `$MONOSSL_IMAGES` (files `image_a.jpg`, `image_b.png`, or the
repository's own names), then the cache beside the datasets (`$MONOSSL_DATA` or `~/.cache/monossl`,
folder `paper-images/`), then a download whose SHA-256 must match before it is kept.
"""
from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from monossl.data.cifar import default_root
from monossl.errors import UserError
from monossl.rundir import atomic_write_bytes

BASE_URL = "https://raw.githubusercontent.com/yukimasano/single_img_pretraining/main/images"
PAPER_IMAGES = {
    "image_a": dict(file="image_a.jpg", remote="ameyoko.jpg",
                    sha256="78c2681de2dbfb416fb861ca3ae0a5e21f3f53c56dfc18b276b0feab4ec526aa"),
    "image_b": dict(file="image_b.png", remote="animals.png",
                    sha256="8d53d41034236f3b7248134e1b9b48060ee0f6eed1eb779a1f0522e0bf05f533"),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def paper_image(name: str, images_dir: str | Path | None = None, data_root: str | Path | None = None) -> Path:
    """The path of Image A or B (`image_a` / `image_b`), downloading it once when needed."""
    if name not in PAPER_IMAGES:
        raise UserError(f"{name}: the paper has image_a and image_b")
    spec = PAPER_IMAGES[name]
    given = images_dir or os.environ.get("MONOSSL_IMAGES")
    if given:
        for candidate in (Path(given) / spec["file"], Path(given) / spec["remote"]):
            if candidate.is_file():
                return candidate
        raise UserError(f"{given}: holds no {spec['file']} (or {spec['remote']}); put the paper's image there "
                        "or drop --images / $MONOSSL_IMAGES to download it")
    cached = default_root(data_root) / "paper-images" / spec["file"]
    if cached.is_file() and sha256(cached) == spec["sha256"]:
        return cached
    return fetch(name, cached)


def fetch(name: str, target: Path) -> Path:
    spec = PAPER_IMAGES[name]
    url = f"{os.environ.get('MONOSSL_IMAGES_URL', BASE_URL).rstrip('/')}/{spec['remote']}"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            payload = response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise UserError(f"cannot download the paper's {name} from {url} ({getattr(exc, 'reason', exc)}); save it as "
                        f"{target} or pass --images DIR holding {spec['file']}") from None
    digest = hashlib.sha256(payload).hexdigest()
    if digest != spec["sha256"]:
        raise UserError(f"{url}: SHA-256 {digest} does not match the paper's image ({spec['sha256']}); nothing was kept")
    atomic_write_bytes(target, payload)
    return target
