"""A distillation step against a supervised step of the same student (batch 256, the CIFAR trunk with a linear
head, on-the-fly Image B patches): the teacher's frozen forward is the only extra work. Both loops are the
library's own code paths (views, loss, optimiser), timed in the same process, interleaved.

Run: python benchmarks/bench_distill.py [--image ../shared/images/image_b.png] [--steps 20] [--precision 32-true]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from monossl.data.augment import AugmentConfig
from monossl.data.patches import to_unit_range
from monossl.data.sampler import PatchSampler
from monossl.data.specs import load_sources
from monossl.losses.distill import kd_loss
from monossl.methods.classifier import native_augmentation
from monossl.methods.distill import views
from monossl.methods.hparams import Distill
from monossl.nets.classifier import classifier_for
from monossl.nets.registry import build_trunk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image", default=str(Path(__file__).resolve().parents[2] / "shared" / "images" / "image_b.png"))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    images, _ = load_sources([args.image])
    sampler = PatchSampler(images, AugmentConfig(size=32), seed=0)
    batches = [to_unit_range(sampler.patches(np.arange(i * args.batch, (i + 1) * args.batch))) for i in range(4)]
    hp = Distill(teacher="bench")
    teacher = classifier_for(build_trunk("cifar", 1), 32, None, 10).eval().requires_grad_(False)
    students = {k: classifier_for(build_trunk("cifar"), 32, None, 10) for k in ("distill", "supervised")}
    optimisers = {k: torch.optim.Adam(m.parameters(), lr=1e-3) for k, m in students.items()}
    augment = native_augmentation("cifar", 32, hp.view_padding, hp.view_flip)
    labels = torch.randint(0, 10, (args.batch,))
    times = {"distill": [], "supervised": []}
    for step in range(args.steps + 2):
        for kind in ("distill", "supervised"):
            x = batches[step % 4]
            start = time.perf_counter()
            if kind == "distill":
                x = views(x, hp, augment)
                with torch.no_grad():
                    target = teacher(x)
                loss = kd_loss(students[kind](x), target, hp.temperature)
            else:
                loss = F.cross_entropy(students[kind](augment(x)), labels)
            optimisers[kind].zero_grad()
            loss.backward()
            optimisers[kind].step()
            if step >= 2:  # the first steps warm the allocator
                times[kind].append(time.perf_counter() - start)
    d, s = np.median(times["distill"]), np.median(times["supervised"])
    print(f"batch {args.batch}, {torch.get_num_threads()} thread(s), median of {args.steps} steps: distillation "
          f"{d * 1000:.0f} ms, supervised {s * 1000:.0f} ms: {d / s:.2f}x (goal at most 1.4x)")


if __name__ == "__main__":
    main()
