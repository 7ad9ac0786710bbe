"""DeepCluster (Caron et al., 2018): alternate k-means pseudo-labels and learning to predict them.

Each epoch, `recluster` runs outside the training loop (as mmselfsup's hook), in numbered steps:
  1. features of the epoch's training images with the top layer removed, in eval mode, without
     augmentation (centre crop);
  2. PCA to 256 dims with whitening, L2 normalisation, faiss k-means, k = 1000 as in §3.2 (rank 0);
  3. the labels are broadcast to every rank and saved as RUN/clusters/epochNNN.npy;
  4. an epoch of indices drawn uniformly over the clusters, sharded disjointly across ranks;
  5. a freshly initialised top layer, with a fresh optimiser of its own (SGD without momentum).
Then the network learns to predict the pseudo-labels: the main SGD (momentum) steps the trunk and the
MLP, the top layer's optimiser steps the top layer, each parameter once per batch (as the reference). Input goes through a frozen Sobel filter;
native augmentation is a random-resized crop (scale 0.08..1, aspect 3/4..4/3) and a flip. SGD
lr 0.05, momentum 0.9, weight decay 1e-5.

With an on-the-fly patch source the training set is a fixed, seeded set of d patches (indices
0..d-1), so pseudo-labels refer to the same images from one epoch to the next; with `--endless`
each epoch's fresh patches are clustered and then trained on, so a label always describes its patch.
"""
from __future__ import annotations

import time
import kornia.augmentation as K
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from monossl.errors import OptionError, opt
from monossl.methods.classifier import crop_size
from monossl.nets.classifier import feature_dim
from monossl.methods.hparams import DeepCluster as Hparams
from monossl.methods.clustering import cluster_features, nmi, uniform_cluster_sampler
from monossl.nets.registry import build_trunk
from monossl.rundir import atomic_write_bytes
from monossl.seeding import derive_seed, generator


def check(config, hp: Hparams) -> None:
    d = config.input.length()
    if d is not None and hp.k > d:
        raise OptionError("k", hp.k, f"more clusters than the {d} training images; lower {opt('k')} (k <= d, e.g. "
                          f"{max(2, d // 50)}) or raise {opt('count')}")


class Net(nn.Module):
    """Trunk, DeepCluster's dropout-MLP (whose output is clustered), and a top layer re-initialised each epoch."""

    def __init__(self, trunk: nn.Module, in_dim: int, hidden: int, k: int):
        super().__init__()
        self.trunk = trunk
        self.mlp = nn.Sequential(nn.Dropout(0.5), nn.Linear(in_dim, hidden), nn.ReLU(inplace=True),
                                 nn.Dropout(0.5), nn.Linear(hidden, hidden), nn.ReLU(inplace=True))
        self.top = nn.Linear(hidden, k)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.trunk(x).flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.top(self.features(x))


class PseudoLabelled(torch.utils.data.Dataset):
    """A dataset's images paired with their current pseudo-labels."""

    def __init__(self, data, labels: torch.Tensor):
        self.data, self.labels = data, labels

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        return self.data[i], self.labels[i]

    def __getitems__(self, indices):
        items = self.data.__getitems__(indices) if hasattr(self.data, "__getitems__") else [self.data[i] for i in indices]
        return list(zip(items, self.labels[indices]))


@torch.no_grad()
def clustering_features(run, net: Net, data, crop: int) -> np.ndarray:
    """Step 1: eval-mode features (top layer removed) of the whole training set, without augmentation."""
    net.eval()
    loader = torch.utils.data.DataLoader(data, batch_size=256, shuffle=False, num_workers=run.config.workers)
    out = []
    for images in loader:
        images = run.fabric.to_device(images)
        if images.shape[-1] != crop:  # centre crop, as at test time
            o = (images.shape[-1] - crop) // 2
            images = images[..., o:o + crop, o:o + crop]
        out.append(net.features(images).float().cpu())
    return torch.cat(out).numpy()


def recluster(run, net: Net, data, hp: Hparams, epoch: int, crop: int) -> dict:
    """Steps 1-5 of the module docstring; returns labels, this rank's sampling order and k-means statistics."""
    cfg, fabric = run.config, run.fabric
    start = time.perf_counter()
    feats = clustering_features(run, net, data, crop)  # 1
    features_seconds, start = time.perf_counter() - start, time.perf_counter()
    result = cluster_features(feats, hp.k, hp.pca_dim, hp.kmeans_iters, seed=derive_seed(cfg.seed, "kmeans", epoch) % 2**31,
                              redo=hp.kmeans_redo) if fabric.is_global_zero else {}  # 2
    kmeans_seconds = time.perf_counter() - start
    labels = fabric.broadcast(result.get("labels"), src=0)  # 3
    if fabric.is_global_zero:
        atomic_write_bytes(run.out / "clusters" / f"epoch{epoch + 1:03d}.npy", npy_bytes(labels.astype(np.int32)))
    world = fabric.world_size
    order = uniform_cluster_sampler(labels, len(labels) - len(labels) % world, seed=derive_seed(cfg.seed, "clusters", epoch))
    with torch.no_grad():  # 5
        net.top.weight.normal_(0, 0.01, generator=generator(cfg.seed, "top", epoch))
        net.top.bias.zero_()
    return {"labels": labels, "order": order[fabric.global_rank::world], "empty": fabric.broadcast(result.get("empty", 0)),
            "kmeans_loss": fabric.broadcast(result.get("kmeans_loss", 0.0)),  # 4: a disjoint shard per rank
            "features_seconds": features_seconds, "kmeans_seconds": kmeans_seconds}


def npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def optimisers(model: Net, hp: Hparams) -> torch.optim.SGD:
    """The main SGD (momentum) over the trunk and the MLP, without the top layer: the reference builds it while
    the top layer is absent, so the top layer is stepped once per batch, by `top_optimiser` alone."""
    top = {id(p) for p in model.top.parameters()}
    params = [p for p in model.parameters() if p.requires_grad and id(p) not in top]
    return torch.optim.SGD(params, lr=hp.lr, momentum=hp.momentum, weight_decay=hp.weight_decay)


def top_optimiser(model: Net, hp: Hparams) -> torch.optim.SGD:
    """A fresh SGD (no momentum) for the top layer, built each epoch after its re-initialisation (step 5), so
    nothing of the previous epoch's top layer carries over (as the reference's `optimizer_tl`)."""
    return torch.optim.SGD(model.top.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)


def step(run, model, optimiser, top, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """One batch: cross-entropy on the pseudo-labels, one backward, each parameter stepped by exactly one optimiser."""
    loss = F.cross_entropy(model(images), targets)
    optimiser.zero_grad(set_to_none=True)
    top.zero_grad(set_to_none=True)
    run.fabric.backward(loss)
    optimiser.step()
    top.step()
    return loss.detach()


def train(run, hp: Hparams) -> None:
    cfg = run.config
    crop = crop_size(cfg.arch, cfg.input.size)
    trunk = build_trunk(cfg.arch, cfg.seed, sobel=True, init=hp.trunk_init)
    hidden = hp.hidden or (4096 if cfg.arch != "cifar" else 1024)
    model = Net(trunk, feature_dim(trunk, crop), hidden, hp.k)
    optimiser = optimisers(model, hp)
    model, optimiser = run.fabric.setup(model, optimiser)
    augment = nn.Sequential(K.RandomResizedCrop((crop, crop), scale=(hp.crop_min_scale, 1.0), ratio=(hp.crop_gamma, 1 / hp.crop_gamma)),
                            K.RandomHorizontalFlip())
    state = {"model": model, "optimiser": optimiser, "previous_labels": None}
    start = run.restore(state)
    data = cfg.input.unlabelled(cfg.seed)
    for epoch in range(start, cfg.epochs):
        run.start_epoch()
        data.set_epoch(epoch)  # before clustering: the labels describe this epoch's images
        clusters = recluster(run, model.module, data, hp, epoch, crop)
        previous = state["previous_labels"]
        change = {"nmi_previous": nmi(clusters["labels"], previous.numpy())} if previous is not None else {}
        state["previous_labels"] = torch.from_numpy(clusters["labels"])  # a tensor: checkpoints hold weights only
        loader = run.loader(PseudoLabelled(data, torch.from_numpy(clusters["labels"])), sampler=clusters["order"].tolist())
        top = run.fabric.setup_optimizers(top_optimiser(model.module, hp))
        model.train()
        for images, targets in run.epoch_batches(loader, epoch):
            loss = step(run, model, optimiser, top, augment(images), targets)
            run.log_step(epoch, loss=loss)
        run.end_epoch(epoch, state, trunk=trunk, **change, empty_clusters=clusters["empty"],
                      kmeans_loss=clusters["kmeans_loss"], loss=loss,
                      features_seconds=clusters["features_seconds"], kmeans_seconds=clusters["kmeans_seconds"])
    run.finish(trunk)
