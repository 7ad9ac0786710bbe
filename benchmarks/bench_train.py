"""Training throughput: every method through `monossl.methods.pretrain` against a bare PyTorch loop of
the same model and step, timed in the same run (engine overhead), plus MonoGAN's critic step as the
first release wrote it (two critic forwards, a host sync per step, critic gradients in the generator
step) against today's.

Methods: rotnet, deepcluster, monogan, bigan, supervised, simclr, dino.

Data: on-the-fly §3.1 patches of Image B at 32 px (CIFAR-10 training images for `supervised`). The bare
loops draw their patches from the same sampler in the main process, so both sides do the same work;
the engine runs with --workers 0 (same work) and with --workers 2.
Images/s count training images drawn per second, in the second epoch (the first warms caches up).

Run: python benchmarks/bench_train.py [--image ../shared/images/image_b.png] [--data-root ../shared/data]
     [--methods rotnet,monogan,...] [--count 2560] [--threads 2]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from monossl.data.inputs import TrainInput
from monossl.data.patches import to_unit_range
from monossl.data.sampler import AugmentConfig, PatchSampler
from monossl.data.specs import load_sources
from monossl.methods import METHODS, pretrain
from monossl.options import build
from monossl.methods.engine import PretrainConfig

BATCH = {"rotnet": 128, "deepcluster": 128, "monogan": 32, "bigan": 64, "supervised": 128, "simclr": 128, "dino": 64}
HPARAMS = {"deepcluster": {"k": 100}, "monogan": {"gen_dim": 32}, "bigan": {"gen_dim": 32}}


def engine_rate(method: str, args, workers: int) -> float:
    """Images/s of the second epoch of a real `pretrain` run."""
    with tempfile.TemporaryDirectory() as tmp:
        source = {"dataset": "cifar10", "data_root": args.data_root} if method == "supervised" else \
            {"sources": (args.image,), "count": args.count}
        config = PretrainConfig(method=method, out=str(Path(tmp) / "run"), input=TrainInput(**source), epochs=2,
                                batch_size=BATCH[method], workers=workers, device="cpu", hparams=dict(HPARAMS.get(method, {})))
        pretrain(config)
        records = [json.loads(x) for x in (Path(tmp) / "run" / "metrics.jsonl").read_text().splitlines()]
        epochs = [r for r in records if r["kind"] == "epoch"]
        images = epochs[1]["images_seen"] - epochs[0]["images_seen"]
        return images / epochs[1]["wall_seconds"]


def patch_batches(args, batch: int, count: int):
    images, names = load_sources([args.image])
    sampler = PatchSampler(images, AugmentConfig(size=32), seed=0, names=names)
    order = np.random.default_rng(0).permutation(count)
    for start in range(0, count - batch + 1, batch):
        yield to_unit_range(sampler.patches(np.sort(order[start:start + batch])))


def timed(loop, args, batch: int, count: int) -> float:
    loop(patch_batches(args, batch, batch * 2))  # warm-up
    start = time.perf_counter()
    seen = loop(patch_batches(args, batch, count))
    return seen / (time.perf_counter() - start)


def plain_loop(opt, loss_of):
    """A bare training loop: one loss of each batch, one optimiser step; returns the images it trained on."""
    def loop(batches):
        seen = 0
        for x in batches:
            loss = loss_of(x)
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += len(x)
        return seen
    return loop


def bare_rotnet(args) -> float:
    from monossl.losses import rotate_batch
    from monossl.methods.classifier import native_augmentation
    from monossl.nets.registry import build_trunk

    trunk = build_trunk("cifar")
    model = torch.nn.Sequential(trunk, torch.nn.Flatten(), torch.nn.Linear(384 * 9, 4))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    augment = native_augmentation("cifar", 32)

    def loss_of(x):
        inputs, labels = rotate_batch(augment(x))
        return F.cross_entropy(model(inputs), labels)
    return timed(plain_loop(opt, loss_of), args, BATCH["rotnet"], args.count)


def monogan_nets(hp):
    from monossl.methods.gan_nets import DCGANGenerator
    from monossl.methods.monogan import Critic

    critic, generator = Critic(), DCGANGenerator(hp.latent, 32, hp.gen_dim, upsample=hp.upsample)
    return (critic, generator, torch.optim.Adam(critic.parameters(), lr=hp.lr, betas=(hp.beta1, hp.beta2)),
            torch.optim.Adam(generator.parameters(), lr=hp.lr, betas=(hp.beta1, hp.beta2)))


def bare_monogan(args, reference: bool = False) -> float:
    """Today's step, or (`reference`) the first release's: separate forwards, .item() every step,
    and critic weight gradients computed (then discarded) in the generator step."""
    from monossl.losses import critic_loss, generator_loss, gradient_penalty

    hp = build(METHODS["monogan"].hparams, HPARAMS["monogan"])
    critic, generator, opt_c, opt_g = monogan_nets(hp)

    def loop(batches):
        seen = 0
        for i, real in enumerate(batches):
            with torch.no_grad():
                fake = generator(torch.randn(len(real), hp.latent))
            if reference:
                d_real, d_fake = critic(real), critic(fake)
            else:
                d_real, d_fake = critic(torch.cat([real, fake])).split(len(real))
            loss = critic_loss(d_real, d_fake, gradient_penalty(critic, real, fake), hp.gp_lambda)
            opt_c.zero_grad()
            loss.backward()
            opt_c.step()
            if reference:
                loss.item(), (d_real.mean() - d_fake.mean()).item()
            if (i + 1) % hp.critic_steps == 0:
                if not reference:
                    critic.requires_grad_(False)
                loss_g = generator_loss(critic(generator(torch.randn(len(real), hp.latent))))
                opt_g.zero_grad()
                loss_g.backward()
                opt_g.step()
                critic.requires_grad_(True)
                if reference:
                    loss_g.item()
            seen += len(real)
        return seen
    return timed(loop, args, BATCH["monogan"], args.count)


def bare_bigan(args) -> float:
    from monossl.methods.bigan import BiGAN, joint_loss
    from monossl.methods.classifier import native_augmentation

    hp = build(METHODS["bigan"].hparams, HPARAMS["bigan"])
    net = BiGAN("cifar", 32, hp)
    d = net.discriminator
    opt = torch.optim.Adam([{"params": d.parameters()}, {"params": [*net.encoder.parameters(), *net.generator.parameters()]}],
                           lr=hp.lr, betas=(hp.beta1, hp.beta2))
    augment = native_augmentation("cifar", 32)

    def frozen(*inputs):  # the engine's frozen pass without Fabric's autocast
        d.requires_grad_(False)
        try:
            return d(*inputs)
        finally:
            d.requires_grad_(True)

    def loss_of(real):
        real = augment(real)
        return joint_loss(net.encoder, net.generator, d, frozen, real, torch.rand(len(real), hp.latent) * 2 - 1)[0]
    return timed(plain_loop(opt, loss_of), args, BATCH["bigan"], args.count)


def bare_deepcluster(args) -> float:
    """One epoch: features of the d patches, PCA + k-means, then the training pass."""
    import kornia.augmentation as K

    from monossl.methods.clustering import cluster_features, uniform_cluster_sampler
    from monossl.methods.deepcluster import Net
    from monossl.nets.registry import build_trunk

    hp = build(METHODS["deepcluster"].hparams, HPARAMS["deepcluster"])
    trunk = build_trunk("cifar", sobel=True)
    net = Net(trunk, 384 * 9, 1024, hp.k)
    top = {id(p) for p in net.top.parameters()}
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad and id(p) not in top], lr=hp.lr, momentum=0.9,
                          weight_decay=hp.weight_decay)
    opt_top = torch.optim.SGD(net.top.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
    augment = torch.nn.Sequential(K.RandomResizedCrop((32, 32), scale=(0.08, 1.0), ratio=(0.75, 4 / 3)), K.RandomHorizontalFlip())
    data = torch.cat(list(patch_batches(args, 256, args.count - args.count % 256)))
    start = time.perf_counter()
    net.eval()
    with torch.no_grad():
        feats = torch.cat([net.features(x) for x in data.split(256)]).numpy()
    labels = cluster_features(feats, hp.k, hp.pca_dim, hp.kmeans_iters, seed=0)["labels"]
    order = torch.from_numpy(uniform_cluster_sampler(labels, len(labels), seed=0))
    targets = torch.from_numpy(labels)
    net.train()
    seen = 0
    for batch in order.split(BATCH["deepcluster"]):
        if len(batch) < BATCH["deepcluster"]:
            break
        loss = F.cross_entropy(net(augment(data[batch])), targets[batch])
        opt.zero_grad()
        opt_top.zero_grad()
        loss.backward()
        opt.step()
        opt_top.step()
        seen += len(batch)
    return seen / (time.perf_counter() - start)


def bare_supervised(args) -> float:
    from monossl.data.cifar import load_cifar
    from monossl.methods.classifier import native_augmentation
    from monossl.nets.registry import build_trunk

    train = load_cifar("cifar10", args.data_root, train=True, download=False)
    model = torch.nn.Sequential(build_trunk("cifar"), torch.nn.Flatten(), torch.nn.Linear(384 * 9, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    augment = native_augmentation("cifar", 32)
    images, labels = to_unit_range(train.images), torch.from_numpy(train.labels)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    loop = plain_loop(opt, lambda batch: F.cross_entropy(model(augment(images[batch])), labels[batch]))
    start = time.perf_counter()
    return loop(order[: args.count * 2].split(BATCH["supervised"])) / (time.perf_counter() - start)


def bare_simclr(args) -> float:
    from monossl.data.views import views_of
    from monossl.losses.ntxent import nt_xent
    from monossl.methods.hparams import SimCLR
    from monossl.methods.simclr import Embedding
    from monossl.nets.registry import build_trunk

    hp = SimCLR()
    model = Embedding(build_trunk("cifar"), hp.proj_hidden, hp.proj_dim)
    opt = torch.optim.SGD(model.parameters(), lr=hp.lr, momentum=hp.momentum, weight_decay=hp.weight_decay)
    view = views_of(hp, 32)

    return timed(plain_loop(opt, lambda x: nt_xent(model(view(x)), model(view(x)), hp.temperature)), args,
                 BATCH["simclr"], args.count)


def bare_dino(args) -> float:
    import copy

    from monossl.data.views import views_of
    from monossl.losses.dino import dino_loss, ema_update, update_center
    from monossl.methods.dino import Head, Net, local_side
    from monossl.methods.hparams import DINO
    from monossl.nets.registry import build_trunk

    hp = DINO()
    trunk = build_trunk("cifar")
    student = Net(trunk, Head(trunk.out_channels, hp.hidden, hp.bottleneck, hp.out_dim))
    teacher = copy.deepcopy(student).requires_grad_(False)
    opt = torch.optim.AdamW([p for p in student.parameters() if p.requires_grad], lr=hp.lr, weight_decay=hp.weight_decay)
    center = torch.zeros(hp.out_dim)
    glob, local = views_of(hp, 32, hp.global_scale), views_of(hp, local_side(hp, 32), hp.local_scale)

    def loop(batches):
        seen = 0
        for x in batches:
            views = [glob(x), glob(x)] + [local(x) for _ in range(hp.local_crops)]
            with torch.no_grad():
                targets = teacher(views[:2])
            loss = dino_loss(student(views), targets, center, hp.student_temp, hp.teacher_temp)
            opt.zero_grad()
            loss.backward()
            opt.step()
            ema_update(teacher, student, hp.momentum)
            center.copy_(update_center(center, targets, hp.center_momentum))
            seen += len(x)
        return seen
    return timed(loop, args, BATCH["dino"], args.count)


BARE = {"rotnet": bare_rotnet, "deepcluster": bare_deepcluster, "monogan": bare_monogan, "bigan": bare_bigan,
        "supervised": bare_supervised, "simclr": bare_simclr, "dino": bare_dino}


def main() -> None:
    root = Path(__file__).resolve().parents[2] / "shared"
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", default=str(root / "images" / "image_b.png"))
    parser.add_argument("--data-root", default=str(root / "data"))
    parser.add_argument("--methods", default=",".join(BARE))
    parser.add_argument("--count", type=int, default=2560, help="patches per epoch")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not Path(args.image).exists():
        sys.exit(f"{args.image}: missing; pass --image")
    torch.set_num_threads(args.threads)
    print(f"threads {torch.get_num_threads()}, {args.count} patches per epoch; images/s (second epoch for the engine)")
    print("| method | bare loop | engine, 0 workers | overhead | engine, 2 workers |")
    print("|---|---|---|---|---|")
    for method in args.methods.split(","):
        bare = BARE[method](args)
        engine0, engine2 = engine_rate(method, args, 0), engine_rate(method, args, 2)
        print(f"| {method} | {bare:.0f} | {engine0:.0f} | {100 * (1 - engine0 / bare):+.1f}% | {engine2:.0f} |", flush=True)
    if "monogan" in args.methods:
        reference, today = bare_monogan(args, reference=True), bare_monogan(args)
        print(f"\nMonoGAN critic steps: first release's step {reference:.0f} img/s, today's {today:.0f} img/s "
              f"({today / reference:.2f}x)")


if __name__ == "__main__":
    main()
