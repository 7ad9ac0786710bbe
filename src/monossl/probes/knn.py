"""Weighted k-nearest-neighbour evaluation of frozen features (Wu et al. 2018, InstDisc; as lightly and solo-learn).

Each tap's feature map is average-pooled to `pool` x `pool` positions (1: global average pooling), flattened and
L2-normalised. A test image's k most cosine-similar training images vote for their classes with weights
exp(similarity / T); the class with the largest total wins (ties: the lowest class index). k = 200 and T = 0.1
follow InstDisc and lightly; solo-learn uses k = 20. The search is exact (faiss `IndexFlatIP`). Needs no
training, so it runs in seconds beside the linear probe and during pretraining (`pretrain --knn-every`).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from monossl.errors import OptionError


def normalise(features: np.ndarray | torch.Tensor) -> np.ndarray:
    """Rows scaled to unit L2 norm, as contiguous float32 (zero rows stay zero). Shape: (N, D) -> (N, D)."""
    x = torch.as_tensor(np.asarray(features, dtype=np.float32))
    return np.ascontiguousarray(F.normalize(x, dim=1).numpy())


def pooled(features: torch.Tensor, shape: tuple[int, int, int], pool: int) -> torch.Tensor:
    """Flat tap features (N, C*H*W) average-pooled to (N, C*pool*pool)."""
    c, h, w = shape
    x = features.float().view(len(features), c, h, w)
    return F.adaptive_avg_pool2d(x, min(pool, h)).flatten(1)


def knn_predict(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, classes: int, k: int = 200,
                temperature: float = 0.1, chunk: int = 2048) -> np.ndarray:
    """Class scores of the test rows by weighted kNN over the training rows (both L2-normalised).

    Shape: train (N, D), train_labels (N,), test (M, D) -> scores (M, classes); the prediction is scores.argmax(1).

    Raises:
        OptionError: k larger than the training set, or a temperature that is not positive."""
    import faiss

    if not 1 <= k <= len(train):
        raise OptionError("knn_k", k, f"must lie between 1 and the {len(train)} training images")
    if not (temperature > 0 and math.isfinite(temperature)):
        raise OptionError("knn_temperature", temperature, "must be a positive number")
    index = faiss.IndexFlatIP(train.shape[1])
    index.add(np.ascontiguousarray(train, dtype=np.float32))
    labels = torch.from_numpy(np.asarray(train_labels, dtype=np.int64))
    scores = torch.zeros(len(test), classes, dtype=torch.float64)
    for start in range(0, len(test), chunk):
        sims, ids = index.search(np.ascontiguousarray(test[start:start + chunk], dtype=np.float32), k)
        weights = torch.from_numpy(sims).double().div(temperature).exp()
        scores[start:start + len(sims)].scatter_add_(1, labels[torch.from_numpy(ids)], weights)
    return scores.numpy()


def knn_accuracy(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, test_labels: np.ndarray, classes: int,
                 k: int = 200, temperature: float = 0.1) -> dict[str, float]:
    """Top-1 and top-5 (%) of weighted kNN on normalised features."""
    scores = torch.from_numpy(knn_predict(train, train_labels, test, classes, k, temperature))
    labels = torch.from_numpy(np.asarray(test_labels, dtype=np.int64))
    top = scores.topk(min(5, classes), dim=1).indices  # topk keeps the lower index first among equal scores
    first = scores.argmax(1)
    return {"knn_top1": 100 * float((first == labels).double().mean()),
            "knn_top5": 100 * float((top == labels[:, None]).any(1).double().mean())}
