"""Full CIFAR-10 linear probe of the CIFAR trunk (all four taps, 36 epochs, extraction included) with
the default protocol (cached features, flips from the mirrored cache), against a plain baseline in the
same run: the frozen trunk run on every batch of every epoch, as a straightforward probe loop does.
Also times one epoch of `--augment crop-flip`, which must run the trunk every epoch.

Run: python benchmarks/bench_probe.py [--data-root ../shared/data] [--epochs 36]
The baseline and crop-flip are timed for one epoch and scaled to the same number of epochs.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from monossl.data.cifar import load_cifar
from monossl.nets import build_trunk
from dataclasses import replace

from monossl.probes import LinearProbes, ProbeConfig, TapFeatures, probe_arrays


def baseline_epoch(trunk, images, labels, config: ProbeConfig) -> float:
    """One epoch of the plain loop: trunk forward per batch, BN probes in train mode, SGD."""
    features = TapFeatures(trunk, trunk.tap_names)
    probes = LinearProbes(features.shapes, 10, config.norm)
    optimiser = torch.optim.SGD(probes.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    order = torch.randperm(len(labels))
    start = time.perf_counter()
    for batch in order.split(config.batch_size):
        x = torch.from_numpy(images[batch.numpy()]).permute(0, 3, 1, 2)
        logits = probes(features(x))
        loss = sum(F.cross_entropy(v, torch.from_numpy(labels[batch.numpy()])) for v in logits.values())
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-root", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--epochs", type=int, default=36)
    args = parser.parse_args()
    try:
        train, test = load_cifar("cifar10", args.data_root, train=True, download=False), load_cifar("cifar10", args.data_root, train=False, download=False)
    except Exception as exc:  # noqa: BLE001
        sys.exit(f"CIFAR-10 not available: {exc}")
    trunk = build_trunk("cifar").reset_parameters(0)
    config = ProbeConfig(epochs=args.epochs)
    start = time.perf_counter()
    result, _ = probe_arrays(trunk, (train.images, train.labels), (test.images, test.labels), 10, config=config)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    probe_arrays(trunk, (train.images, train.labels), (test.images, test.labels), 10,
                 config=replace(config, epochs=1, augment="crop-flip"))
    crop_flip = (time.perf_counter() - start) * args.epochs
    plain = baseline_epoch(trunk, train.images, train.labels, config) * args.epochs
    print(f"threads: {torch.get_num_threads()}")
    print(f"monossl probe ({config.augment}, {config.norm}, {config.bn_stats}), {args.epochs} epochs, "
          f"extraction included: {ours:7.1f} s")
    print(f"monossl probe (crop-flip, 1 epoch timed with its clean-train and test extraction, x{args.epochs}: "
          f"an upper bound): {crop_flip:7.1f} s")
    print(f"plain loop (1 epoch timed, x{args.epochs}):                         {plain:7.1f} s")
    print(f"speed-up of the default over the plain loop: {plain / ours:.1f}x")
    print("top-1: " + ", ".join(f"{t} {v['top1']:.1f}" for t, v in result.items()))


if __name__ == "__main__":
    main()
