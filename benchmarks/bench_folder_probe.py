"""Image-folder probes (Table 2's path) against the trunk's own speed: training images/s of one probe
epoch on an ImageNet-layout folder (decode, resize 256, random 224 crop, flip, frozen AlexNet, five
pooled probes) against a plain forward of the same trunk on ready 224-px tensors. Goal: >= 70%.

The folder is synthetic (JPEG photographs-like noise at 500 x 375, ImageNet's typical size), made in a
temporary directory. Run: python benchmarks/bench_folder_probe.py [--images 1000] [--workers 2]

With --folder ROOT (ROOT/train, ROOT/val in ImageNet layout), the whole probe job instead: every tap of a random
trunk probed for --epochs epochs on every image of the folder, with the paper's ten-crop views (the trunk runs on
every training image each epoch) and with centre views (decoded and run once, features cached), in seconds of
process CPU time and of wall time, and their ratio. Run: python benchmarks/bench_folder_probe.py
--folder ../shared/data/imagenette-4500 --crop 112 --workers 0
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
from monossl.probes import PRESETS, TapFeatures, probe_folder, run_probe


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
    parser.add_argument("--folder", help="compare the whole probe job's views on this ImageNet-layout folder")
    parser.add_argument("--crop", type=int, default=None, help="--folder: the probe's input side (default: the trunk's)")
    parser.add_argument("--epochs", type=int, default=PRESETS["paper"].epochs)
    args = parser.parse_args()
    if args.folder:
        return compare_views(args)
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


def compare_views(args) -> None:
    dataset = f"folder:{Path(args.folder) / 'train'},{Path(args.folder) / 'val'}"
    seconds = {}
    with tempfile.TemporaryDirectory() as tmp:
        for views in ("centre", "ten-crop"):
            config = replace(PRESETS["paper"], epochs=args.epochs, crop=args.crop, folder_views=views)
            cpu, wall = time.process_time(), time.perf_counter()
            result = run_probe("random", dataset, Path(tmp) / f"{views}.json", arch=args.arch, config=config,
                               workers=args.workers)
            seconds[views] = (time.process_time() - cpu, time.perf_counter() - wall)
            print(f"{views:>8}: {seconds[views][0]:7.1f} CPU-s, {seconds[views][1]:7.1f} s wall; random {args.arch} top-1 "
                  + " / ".join(f"{m['top1']:.1f}" for m in result.taps.values()), flush=True)
    print(f"threads {torch.get_num_threads()}, workers {args.workers}, {args.epochs} epochs, crop {args.crop}: centre views "
          f"take {seconds['centre'][0] / seconds['ten-crop'][0]:.3f} of ten-crop's CPU time "
          f"({seconds['centre'][1] / seconds['ten-crop'][1]:.3f} of its wall time)")


if __name__ == "__main__":
    main()
