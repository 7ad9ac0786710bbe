"""Weighted kNN evaluation of the CIFAR trunk on all of CIFAR-10 (50,000 / 10,000 images, k = 200, T = 0.1): the
whole job (feature extraction of both splits, pooling, normalisation, the exact faiss search and the votes), and
the search alone on features already cached by a linear probe (as `monossl probe --knn` shares them).

Run: python benchmarks/bench_knn.py [--data-root ../shared/data] [--pool 1]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from monossl.data.cifar import load_cifar
from monossl.nets import build_trunk
from monossl.probes.config import ProbeConfig
from monossl.probes.linear import KNN, TapFeatures, extract, knn_arrays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-root", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--pool", type=int, default=1)
    args = parser.parse_args()
    try:
        train, test = (load_cifar("cifar10", args.data_root, train=split, download=False) for split in (True, False))
    except Exception as exc:  # noqa: BLE001
        sys.exit(f"CIFAR-10 not available: {exc}")
    trunk = build_trunk("cifar")
    knn = KNN(pool=args.pool)
    start = time.perf_counter()
    scores = knn_arrays(trunk, (train.images, train.labels), (test.images, test.labels), 10, None, None, "unit", knn)
    whole = time.perf_counter() - start
    features = TapFeatures(trunk, trunk.tap_names)
    cache = {("train", True): extract(features, train.images, ProbeConfig(), None, "train", flip=True),
             "test": extract(features, test.images, ProbeConfig(), None, "test")}
    start = time.perf_counter()
    knn_arrays(trunk, (train.images, train.labels), (test.images, test.labels), 10, None, None, "unit", knn, cache)
    cached = time.perf_counter() - start
    print(f"kNN, four taps, all of CIFAR-10 (k {knn.k}, T {knn.temperature}, pool {knn.pool}): {whole:.1f} s with "
          f"extraction, {cached:.1f} s on cached features; random trunk top-1 "
          + " / ".join(f"{v['knn_top1']:.1f}" for v in scores.values()))


if __name__ == "__main__":
    main()
