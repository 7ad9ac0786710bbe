"""Patch generator vs a plain per-sample Pillow implementation of the same §3.1 protocol.

Run: python benchmarks/bench_generate.py [--images-dir ../shared/images] [--threads 1]
Prints patches/s for both and their ratio, for Image A and Image B at S = 32, 128, 256, plus
`monossl generate` (npy, end to end, process start included) against the in-memory rate, and the
peak memory of the sampler against the decoded source. Torch runs on `--threads` threads (default
1, like the Pillow baseline); run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import math
import random
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageEnhance

from monossl.data.sampler import AugmentConfig, PatchSampler
from monossl.data.sources import decode_image


def pillow_patch(img: Image.Image, cfg: AugmentConfig, rng: random.Random) -> np.ndarray:
    """The protocol one patch at a time with Pillow: rotate, crop inside, flip, resize (antialiased), jitter."""
    W, H = img.size
    angle = rng.uniform(-cfg.max_angle, cfg.max_angle)
    c, s = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
    while True:
        area = rng.uniform(cfg.beta, 1) * W * H
        ratio = math.exp(rng.uniform(math.log(cfg.gamma), -math.log(cfg.gamma)))
        w, h = math.sqrt(area / ratio), math.sqrt(area * ratio)
        if w * c + h * s <= W and w * s + h * c <= H:
            break
    rotated = img.rotate(angle, resample=Image.BILINEAR)
    ex, ey = (w * c + h * s) / 2, (w * s + h * c) / 2
    cx, cy = rng.uniform(ex, W - ex), rng.uniform(ey, H - ey)
    # the box centre in the rotated frame: Pillow turns the image counter-clockwise on screen (y down)
    dx, dy = cx - W / 2, cy - H / 2
    a = math.radians(angle)
    rx, ry = W / 2 + dx * math.cos(a) + dy * math.sin(a), H / 2 - dx * math.sin(a) + dy * math.cos(a)
    box = (max(rx - w / 2, 0), max(ry - h / 2, 0), min(rx + w / 2, W), min(ry + h / 2, H))
    patch = rotated.resize((cfg.size, cfg.size), Image.BILINEAR, box=box)
    if rng.random() < 0.5:
        patch = patch.transpose(Image.FLIP_LEFT_RIGHT)
    patch = ImageEnhance.Brightness(patch).enhance(rng.uniform(*cfg.brightness))
    patch = ImageEnhance.Contrast(patch).enhance(rng.uniform(*cfg.contrast))
    patch = ImageEnhance.Color(patch).enhance(rng.uniform(*cfg.saturation))
    hsv = np.asarray(patch.convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(int) + int(rng.uniform(*cfg.hue) * 255)) % 256
    return np.asarray(Image.fromarray(hsv, "HSV").convert("RGB"))


def rate(fn, count: int) -> float:
    start = time.perf_counter()
    fn(count)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "images"))
    parser.add_argument("--threads", type=int, default=1, help="torch threads for monossl")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = {"A": Path(args.images_dir) / "image_a.jpg", "B": Path(args.images_dir) / "image_b.png"}
    if not all(p.exists() for p in images.values()):
        sys.exit(f"images not found in {args.images_dir}; pass --images-dir")
    print(f"{'image':5} {'S':>4} {'pillow/s':>9} {'monossl/s':>10} {'ratio':>7} {'generate/s':>11} {'gen/mem':>8}")
    warnings.simplefilter("ignore")  # Image B is smaller than 256: upsampled, as the protocol allows
    for name, path in images.items():
        array = decode_image(path)
        pil = Image.fromarray(array)
        for size in (32, 128, 256):
            cfg = AugmentConfig(size=size)
            rng = random.Random(0)
            pillow_rate = rate(lambda n: [pillow_patch(pil, cfg, rng) for _ in range(n)], 8 if name == "A" else 40)
            sampler = PatchSampler([array], cfg, seed=0)
            n = int(max(64, 4096 * (32 / size) ** 2))
            sampler.patches(np.arange(min(n, 256)))  # warm-up
            fast_rate = rate(lambda k: sampler.patches(np.arange(k)), n)
            count = int(fast_rate * 10)  # ~10 s of work, so process start-up does not dominate
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "monossl", "generate", str(path), "--size", str(size),
                                "--count", str(count), "--out", f"{tmp}/p"], check=True, capture_output=True,
                               env={**os.environ, "OMP_NUM_THREADS": str(args.threads)})
                gen_rate = count / (time.perf_counter() - start)
            print(f"{name:5} {size:4d} {pillow_rate:9.1f} {fast_rate:10.1f} {fast_rate / pillow_rate:6.0f}x "
                  f"{gen_rate:11.1f} {gen_rate / fast_rate:7.2f}x", flush=True)
    print(peak_memory_report(images["A"]))


def peak_memory_report(path: Path) -> str:
    """Peak RSS growth of a fresh process while it builds the sampler from Image A's decoded pixels and
    renders S = 256 patches, against the decoded image's size (Linux: VmHWM reset via clear_refs)."""
    code = f"""
import numpy as np, torch
from monossl.data.sources import decode_image
from monossl.data.sampler import PatchSampler, AugmentConfig
torch.set_num_threads(1)
s = PatchSampler([np.zeros((64, 64, 3), np.uint8)], AugmentConfig(size=256)); s.patches(np.arange(4))  # warm paths
img = decode_image({str(path)!r}); decoded = img.nbytes
def status(key):
    return int(next(l for l in open('/proc/self/status') if l.startswith(key)).split()[1]) * 1024
open('/proc/self/clear_refs', 'w').write('5')
base = status('VmRSS')
s = PatchSampler([img], AugmentConfig(size=256), seed=0)
for k in range(8): s.patches(np.arange(k * 16, k * 16 + 16))
peak = status('VmHWM') - base
print(f"peak memory while sampling: {{peak / 2**20:.1f}} MiB above the decoded source = {{peak / decoded:.2f}}x its {{decoded / 2**20:.1f}} MiB")
"""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


if __name__ == "__main__":
    main()
