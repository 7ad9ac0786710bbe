"""DeepCluster (Caron et al., 2018): alternate k-means pseudo-labels and learning to predict them.

Each epoch: (1) features of the clustering set with the top layer removed, in eval mode, without
augmentation; (2) PCA to 256 dims with whitening, L2 normalisation; (3) faiss k-means, k = 1000 as
in §3.2; (4) sample uniformly over clusters and train with a freshly initialised top layer. The
clustering runs outside the loop (`monossl.methods.clustering`), on rank 0 under DDP, and the labels
are broadcast. Input goes through a frozen Sobel filter; native augmentation is a random-resized
crop (scale 0.08..1, aspect 3/4..4/3) and a flip. SGD lr 0.05, momentum 0.9, weight decay 1e-5.

With an on-the-fly patch source, the clustering set is a fixed, seeded set of d patches (patch
indices 0..d-1), so pseudo-labels refer to the same images from one epoch to the next.
"""
from __future__ import annotations

from dataclasses import dataclass

import kornia.augmentation as K
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from monossl.methods.clustering import cluster_features, nmi, uniform_cluster_sampler
from monossl.methods.engine import Run, crop_size, feature_dim
from monossl.nets.registry import build_trunk


@dataclass
class Hparams:
    k: int = 1000
    pca_dim: int = 256
    kmeans_iters: int = 20
    kmeans_redo: int = 1
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 1e-5
    hidden: int | None = None  # classifier width: None -> 4096 (AlexNet) / 1024 (CIFAR trunk)
    crop_min_scale: float = 0.08  # native random-resized crop (beta of §3.2)
    crop_gamma: float = 0.75


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



@torch.no_grad()
def reset_top(top: nn.Linear, generator: torch.Generator) -> None:
    """A fresh top layer for the new pseudo-labels: N(0, 0.01) weights, zero bias."""
    top.weight.normal_(0, 0.01, generator=generator)
    top.bias.zero_()


class Indexed(torch.utils.data.Dataset):
    """Dataset items paired with their pseudo-labels."""

    def __init__(self, data, labels):
        self.data, self.labels = data, labels

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        return self.data[i], self.labels[i]

    def __getitems__(self, indices):
        items = self.data.__getitems__(indices) if hasattr(self.data, "__getitems__") else [self.data[i] for i in indices]
        return list(zip(items, self.labels[indices]))


@torch.no_grad()
def clustering_features(run: Run, net: Net, data, crop: int) -> np.ndarray:
    """Eval-mode features (top layer removed) of the whole clustering set, without augmentation."""
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


def train(run: Run, hp: Hparams) -> None:
    cfg = run.config
    crop = crop_size(cfg.arch, cfg.size)
    trunk = build_trunk(cfg.arch, sobel=True)
    hidden = hp.hidden or (4096 if cfg.arch != "cifar" else 1024)
    model = Net(trunk, feature_dim(trunk, crop), hidden, hp.k)
    optimiser = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=hp.lr,
                                momentum=hp.momentum, weight_decay=hp.weight_decay)
    model, optimiser = run.fabric.setup(model, optimiser)
    augment = nn.Sequential(K.RandomResizedCrop((crop, crop), scale=(hp.crop_min_scale, 1.0), ratio=(hp.crop_gamma, 1 / hp.crop_gamma)),
                            K.RandomHorizontalFlip())
    state = {"model": model, "optimiser": optimiser, "previous_labels": None}
    start = run.restore(state)
    data = run.dataset()  # fixed: patch indices 0..d-1 (set_epoch is never called)
    top_gen = torch.Generator().manual_seed(cfg.seed)
    for epoch in range(start, cfg.epochs):
        feats = clustering_features(run, model.module, data, crop)
        result = {}
        if run.fabric.is_global_zero:
            result = cluster_features(feats, hp.k, hp.pca_dim, hp.kmeans_iters, seed=cfg.seed + epoch,
                                      redo=hp.kmeans_redo)
        labels = run.fabric.broadcast(result.get("labels"), src=0)
        change = {"nmi_previous": nmi(labels, state["previous_labels"])} if state["previous_labels"] is not None else {}
        state["previous_labels"] = labels
        order = uniform_cluster_sampler(labels, len(labels), seed=cfg.seed * 7919 + epoch)
        loader = run.loader(Indexed(data, torch.from_numpy(labels)), sampler=order.tolist())
        top_gen.manual_seed(cfg.seed * 31 + epoch)
        reset_top(model.module.top, top_gen)
        top_optimiser = run.fabric.setup_optimizers(torch.optim.SGD(model.module.top.parameters(), lr=hp.lr,
                                                                    weight_decay=hp.weight_decay))
        model.train()
        for images, targets in run.epoch_batches(loader, data, epoch):
            logits = model(augment(images))
            loss = F.cross_entropy(logits, targets)
            optimiser.zero_grad(set_to_none=True)
            top_optimiser.zero_grad(set_to_none=True)
            run.fabric.backward(loss)
            optimiser.step()
            top_optimiser.step()
            run.log_step(epoch, loss=loss.item())
        run.end_epoch(epoch, state, trunk=trunk, **change, empty_clusters=result.get("empty", 0),
                      kmeans_loss=result.get("kmeans_loss", 0.0), loss=loss.item())
    run.finish(trunk)
