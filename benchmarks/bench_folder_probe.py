"""Image-folder probes (Table 2's path) against the trunk's own speed: training images/s of one probe
epoch on an ImageNet-layout folder (decode, resize 256, random 224 crop, flip, frozen AlexNet, five
pooled probes) against a plain forward of the same trunk on ready 224-px tensors. Goal: >= 70%.

The folder is synthetic (JPEG photographs-like noise at 500 x 375, ImageNet's typical size), made in a
temporary directory. Run: python benchmarks/bench_folder_probe.py [--images 1000] [--workers 2]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from PIL import Image

from monossl.data.synthetic import render
from monossl.nets import build_trunk
from monossl.probes import PRESETS, TapFeatures, probe_folder


def make_folder(root: Path, images: int, classes: int = 10) -> None:
    for split, n in (("train", images), ("val", classes * 2)):
        for i in range(n):
            folder = root / split / f"class{i % classes:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(render("noise", i, seed=len(split), height=375, width=500)).save(folder / f"{i:05d}.jpg", quality=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--arch", default="alexnet")
    args = parser.parse_args()
    trunk = build_trunk(args.arch)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_folder(root, args.images)
        features = TapFeatures(trunk, trunk.tap_names, pool_target=9600)
        batch = torch.randint(0, 256, (192, 3, 224, 224), dtype=torch.uint8)
        features(batch[:8])
        start = time.perf_counter()
        for _ in range(3):
            features(batch)
        plain = 3 * len(batch) / (time.perf_counter() - start)
        config = replace(PRESETS["paper"], epochs=1, test_limit=10)
        start = time.perf_counter()
        probe_folder(trunk, str(root / "train"), str(root / "val"), config=config, workers=args.workers)
        seconds = time.perf_counter() - start
        # evaluation of the 10 validation images (ten crops each) is part of `seconds`: a small share
        probe = args.images / seconds
    print(f"threads {torch.get_num_threads()}, workers {args.workers}, {args.images} training images")
    print(f"plain {args.arch} forward (all taps, pooled), ready tensors: {plain:7.1f} img/s")
    print(f"folder probe, one training epoch (decode + augment + forward + probes): {probe:7.1f} img/s "
          f"({100 * probe / plain:.0f}% of the plain forward)")


if __name__ == "__main__":
    main()
