"""DeepCluster's clustering step as pure functions, kept outside the training loop (as mmselfsup's hook).

features -> PCA to 256 dims with whitening -> L2 normalisation -> faiss k-means -> pseudo-labels;
plus the uniform-over-clusters sampler and the NMI between consecutive assignments.
"""
from __future__ import annotations

import faiss
import numpy as np


def pca_whiten(features: np.ndarray, dim: int = 256, normalise: bool = True) -> np.ndarray:
    """PCA to `dim` dims with whitening (eigenvalues^-1/2), then L2-normalised rows (DeepCluster's preprocessing)."""
    x = np.ascontiguousarray(features, dtype=np.float32)
    dim = min(dim, x.shape[1], len(x))
    pca = faiss.PCAMatrix(x.shape[1], dim, -0.5)
    centred = x - x.mean(0)
    # dead directions stay finite, also when every feature is (the same) zero
    pca.epsilon = float(max(1e-5 * np.einsum("ij,ij->", centred, centred) / x.shape[1], 1e-12))
    pca.train(x)
    y = pca.apply_py(x) * np.float32(np.sqrt(len(x)))  # faiss whitens by the scatter matrix's eigenvalues
    # a direction whose eigenvalue rounds below -epsilon (dead ReLU units, float32 round-off) carries nothing: 0
    y[:, ~np.isfinite(y).all(0)] = 0
    if normalise:
        y /= np.linalg.norm(y, axis=1, keepdims=True).clip(min=1e-12)
    return y


def kmeans(x: np.ndarray, k: int, iters: int = 20, seed: int = 0, redo: int = 1) -> tuple[np.ndarray, float]:
    """faiss k-means (best of `redo` restarts); returns each row's cluster and the final objective.
    faiss re-seeds empty clusters by splitting large ones during training (DeepCluster relies on it)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    km = faiss.Kmeans(x.shape[1], k, niter=iters, seed=seed, nredo=redo, max_points_per_centroid=10_000_000,
                      min_points_per_centroid=1, verbose=False)
    km.train(x)
    _, assign = km.index.search(x, 1)
    return assign.ravel().astype(np.int64), float(km.obj[-1]) if len(km.obj) else 0.0


def uniform_cluster_sampler(labels: np.ndarray, count: int, seed: int) -> np.ndarray:
    """`count` indices drawn uniformly over the non-empty clusters (as many from each), shuffled.

    Large clusters are subsampled and small ones repeated, so the classifier cannot win by
    predicting the biggest cluster; empty clusters are skipped."""
    rng = np.random.default_rng(seed)  # `seed` is a derived stream: seeding.derive_seed(run seed, "clusters", epoch)
    clusters = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    per = int(np.ceil(count / len(clusters)))
    picks = [rng.choice(members, per, replace=len(members) < per) for members in clusters]
    order = np.concatenate(picks)
    rng.shuffle(order)
    return order[:count]


def nmi(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised mutual information (arithmetic normalisation) between two labelings."""
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1)
    joint /= joint.sum()
    pa, pb = joint.sum(1), joint.sum(0)
    nz = joint > 0
    mutual = (joint[nz] * np.log(joint[nz] / np.outer(pa, pb)[nz])).sum()
    entropy = lambda p: -(p[p > 0] * np.log(p[p > 0])).sum()  # noqa: E731
    denom = (entropy(pa) + entropy(pb)) / 2
    return float(mutual / denom) if denom > 0 else 1.0


def cluster_features(features: np.ndarray, k: int, pca_dim: int = 256, iters: int = 20, seed: int = 0,
                     redo: int = 1) -> dict:
    """The whole clustering step: returns labels, the number of empty clusters, and the k-means loss."""
    labels, loss = kmeans(pca_whiten(features, pca_dim), k, iters, seed, redo)
    return {"labels": labels, "empty": int(k - len(np.unique(labels))), "kmeans_loss": loss}
