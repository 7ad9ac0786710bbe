"""The methods' maths without a training run: rotations, clustering, whitening, Sobel, gradient penalty."""
import numpy as np
import pytest
import torch
from torch import nn

from monossl.losses import bigan_losses, gradient_penalty, rotate_batch
from monossl.methods.clustering import cluster_features, kmeans, nmi, pca_whiten, uniform_cluster_sampler
from monossl.methods.gan_nets import DCGANGenerator
from monossl.methods.monogan import Critic
from monossl.nets.alexnet import Sobel


def test_rotation_labels_match_rot90():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4)
    rotated, labels = rotate_batch(x)
    assert rotated.shape == (8, 3, 4, 4) and labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    for i, k in enumerate(labels.tolist()):
        assert torch.equal(rotated[i], torch.rot90(x[i % 2], k, dims=(1, 2)))
    assert torch.equal(torch.rot90(rotated[2], -1, dims=(1, 2)), x[0])  # label 1 is 90 degrees counter-clockwise


def test_uniform_cluster_sampler_balances_and_skips_empty_clusters():
    labels = np.array([0] * 90 + [1] * 8 + [3] * 2)  # cluster 2 is empty
    order = uniform_cluster_sampler(labels, 300, seed=0)
    counts = np.bincount(labels[order], minlength=4)
    assert counts.tolist() == [100, 100, 0, 100]
    assert np.array_equal(order, uniform_cluster_sampler(labels, 300, seed=0))


def test_pca_whitening_gives_identity_covariance():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 32)) @ rng.normal(size=(32, 32)) * 5 + 3
    y = pca_whiten(x, 16, normalise=False)
    cov = np.cov(y, rowvar=False)
    assert y.shape == (4000, 16) and np.allclose(cov, np.eye(16), atol=0.05)
    assert np.allclose(np.linalg.norm(pca_whiten(x, 16), axis=1), 1, atol=1e-5)


def test_whitening_dead_and_tiny_features_stays_finite():
    """Dead ReLU units (constant columns) at a tiny scale, whitened in all directions: the dead directions are 0,
    the live ones still whitened (from a DeepCluster run whose 32-unit MLP had 11 dead units)."""
    rng = np.random.default_rng(0)
    x = np.zeros((64, 32), np.float32)
    x[:, :21] = np.abs(rng.normal(size=(64, 21))) * 2e-3
    y = pca_whiten(x, 32, normalise=False)
    assert np.isfinite(y).all()
    assert np.isfinite(pca_whiten(np.zeros((64, 32), np.float32), 32)).all()  # nothing alive at all
    live = np.cov(y[:, np.abs(y).sum(0) > 0], rowvar=False)
    assert live.shape[0] >= 20 and np.allclose(np.diag(live), 1, atol=0.1)


def test_kmeans_recovers_separable_blobs():
    rng = np.random.default_rng(0)
    truth = np.repeat(np.arange(5), 200)
    x = rng.normal(size=(5, 8))[truth] * 10 + rng.normal(size=(1000, 8)) * 0.1
    labels, _ = kmeans(x.astype(np.float32), 5, seed=1, redo=5)
    assert nmi(labels, truth) > 0.99
    result = cluster_features(x, 5, pca_dim=4, seed=1, redo=5)
    assert nmi(result["labels"], truth) > 0.99 and result["empty"] == 0


def test_nmi_bounds():
    a = np.array([0, 0, 1, 1, 2, 2])
    assert nmi(a, a) == pytest.approx(1.0)
    assert nmi(a, np.array([5, 5, 7, 7, 9, 9])) == pytest.approx(1.0)  # names do not matter
    assert nmi(np.array([0, 1] * 500), np.array([0] * 500 + [1] * 500)) < 0.01


def test_sobel_sees_edges_in_their_direction():
    img = torch.zeros(1, 3, 8, 8)
    img[..., 4:] = 1.0  # a vertical edge: intensity changes along x
    out = Sobel()(img)
    assert out[0, 0, 2:6, 2:6].abs().max() == pytest.approx(4.0)  # horizontal gradient: 1+2+1
    assert out[0, 1, 2:6, 2:6].abs().max() == 0


def test_gradient_penalty_uses_the_whole_sample_gradient():
    """A linear critic D(x) = <w, x> has gradient w everywhere: the penalty is (||w|| - 1)^2 exactly.
    Taking the norm over channels only (per pixel) would give a different number."""
    w = torch.randn(3, 4, 4)

    class Linear(nn.Module):
        def forward(self, x):
            return (x * w).flatten(1).sum(1)

    real, fake = torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4)
    penalty = gradient_penalty(Linear(), real, fake)
    assert penalty.item() == pytest.approx((w.norm() - 1).pow(2).item(), rel=1e-5)
    per_pixel = ((w.norm(dim=0) - 1) ** 2).mean()
    assert abs(penalty.item() - per_pixel.item()) > 1e-3


def test_critic_has_no_batchnorm_and_penalty_differentiates():
    critic = Critic()
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)) for m in critic.modules())
    penalty = gradient_penalty(critic, torch.randn(4, 3, 32, 32), torch.randn(4, 3, 32, 32))
    penalty.backward()
    assert critic.trunk.features[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("init,baseline", [("deepcluster", "random-critic"), ("smooth", "random-critic-smooth"),
                                           ("wgan-gp", "random-critic-wgan-gp")])
def test_critic_starts_from_its_random_baseline_at_every_seed(init, baseline):
    """A run at seed s starts from the baseline drawn at seed s (one table maps the init to its baseline), and two
    seeds start from different weights, so a second seed is a second draw of the init too."""
    from monossl.curves import baseline_for
    from monossl.nets.registry import CRITIC_BASELINES, resolve_trunk

    assert CRITIC_BASELINES[init] == baseline
    for seed in (0, 1):
        start, drawn = Critic(init, seed).trunk, resolve_trunk(baseline, seed=seed)[0]
        assert all(torch.equal(a, b) for a, b in zip(start.state_dict().values(), drawn.state_dict().values()))
        assert start.config == drawn.config and baseline_for(start) == baseline
    assert not torch.equal(Critic(init, 0).trunk.features[0].weight, Critic(init, 1).trunk.features[0].weight)


def test_generator_output_shape_and_range():
    for size in (32, 112):
        g = DCGANGenerator(latent=16, size=size, dim=8).eval()
        x = g(torch.randn(3, 16))
        assert x.shape == (3, 3, size, size) and x.abs().max() <= 1


@pytest.mark.parametrize("kind,checkerboard", [("deconv", True), ("resize", False), ("bilinear", False)])
def test_only_transposed_convs_draw_checkerboards(kind, checkerboard):
    """A constant map stays constant (away from the border) through resize + conv, but a 4x4 stride-2
    transposed conv gives it a period-2 pattern (Odena et al. 2016)."""
    from monossl.methods.gan_nets import upsampling

    torch.manual_seed(0)
    layer = torch.nn.Sequential(*upsampling(4, 3, kind))
    out = layer(torch.ones(1, 4, 8, 8))[..., 2:-2, 2:-2]
    spread = out.std(dim=(2, 3)).max().item()
    assert (spread > 1e-3) == checkerboard
    for size in (32, 64):
        g = DCGANGenerator(latent=16, size=size, dim=8, upsample=kind).eval()
        assert g(torch.randn(2, 16)).shape == (2, 3, size, size)


def test_bigan_losses_swap_labels():
    confident_real, confident_fake = torch.full((4,), 8.0), torch.full((4,), -8.0)
    loss_d, loss_eg = bigan_losses(confident_real, confident_fake)
    assert loss_d < 0.01 and loss_eg > 10


def test_bigan_joint_loss_gives_each_net_its_own_gradient():
    """One backward of `joint_loss` = BiGAN's simultaneous update: D gets d(loss_d)/dD and E, G get
    d(loss_eg)/d(E, G), exactly as two separate gradient computations over one forward (dropout on)."""
    from monossl.methods.bigan import BiGAN, Hparams, joint_loss

    torch.manual_seed(0)
    net = BiGAN("cifar", 32, Hparams(latent=16, gen_dim=8, disc_dim=8)).train()
    real, z = torch.randn(6, 3, 32, 32), torch.rand(6, 16) * 2 - 1
    d_params, eg_params = list(net.discriminator.parameters()), [*net.encoder.parameters(), *net.generator.parameters()]

    torch.manual_seed(1)  # the reference: one forward (one draw of dropout masks), two gradients
    scores = net.discriminator(torch.cat([real, net.generator(z)]), torch.cat([net.encoder(real), z])).split(6)
    ref_d, ref_eg = bigan_losses(*scores)
    want_d = torch.autograd.grad(ref_d, d_params, retain_graph=True)
    want_eg = torch.autograd.grad(ref_eg, eg_params)

    def frozen(*inputs):
        net.discriminator.requires_grad_(False)
        out = net.discriminator(*inputs)
        net.discriminator.requires_grad_(True)
        return out

    torch.manual_seed(1)
    loss, loss_d, loss_eg = joint_loss(net.encoder, net.generator, net.discriminator, frozen, real, z)
    loss.backward()
    assert torch.allclose(loss_d, ref_d) and torch.allclose(loss_eg, ref_eg)
    assert len(d_params) > 4 and len(eg_params) > 4
    for p, want in zip(d_params + eg_params, want_d + want_eg):
        assert torch.allclose(p.grad, want, atol=1e-6), p.shape
    assert any((w.abs() > 1e-4).any() for w in want_d) and any((w.abs() > 1e-4).any() for w in want_eg)


@pytest.mark.parametrize("crop", [32, 56, 112])
def test_joint_discriminator_fits_every_crop_size(crop):
    from monossl.methods.bigan import JointDiscriminator

    d = JointDiscriminator(crop, latent=200, dim=8).eval()
    assert d(torch.randn(2, 3, crop, crop), torch.rand(2, 200)).shape == (2,)


def test_deepcluster_steps_every_parameter_once_as_the_reference():
    """facebookresearch/deepcluster: the main SGD (momentum) is built without the top layer, and the top layer has
    its own SGD (no momentum), rebuilt after each re-initialisation. One step moves every parameter by exactly one
    SGD update; after a re-initialisation the top layer's first step carries no momentum from the last epoch."""
    from types import SimpleNamespace

    from lightning.fabric import Fabric

    from monossl.methods.deepcluster import Hparams, Net, optimisers, step, top_optimiser
    from monossl.nets.registry import build_trunk

    torch.manual_seed(0)
    hp = Hparams(k=5, lr=0.1, momentum=0.9, weight_decay=1e-2)
    model = Net(build_trunk("cifar", sobel=True, widths=(8, 8, 8, 8)), 8 * 9, 16, hp.k).eval()  # eval: no dropout draws
    run = SimpleNamespace(fabric=Fabric(accelerator="cpu", devices=1))
    x, y = torch.randn(6, 3, 32, 32), torch.randint(0, hp.k, (6,))
    named = dict(model.named_parameters())
    trainable = {n for n, p in named.items() if p.requires_grad}

    def gradients():
        model.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        return {n: named[n].grad.clone() for n in trainable}

    main, top = optimisers(model, hp), top_optimiser(model, hp)
    assert {id(p) for g in main.param_groups for p in g["params"]}.isdisjoint(id(p) for p in model.top.parameters())
    before, grads = {n: named[n].detach().clone() for n in trainable}, gradients()
    step(run, model, main, top, x, y)
    buffers = {}
    for n in trainable:  # SGD's first step: the momentum buffer is the gradient itself, d = g + wd * p
        d = grads[n] + hp.weight_decay * before[n]
        buffers[n] = d
        assert torch.allclose(named[n].detach(), before[n] - hp.lr * d, atol=1e-6), n
    with torch.no_grad():  # step 5 of the next epoch: a fresh top layer and a fresh optimiser for it
        model.top.weight.normal_(0, 0.01)
        model.top.bias.zero_()
    top = top_optimiser(model, hp)
    before, grads = {n: named[n].detach().clone() for n in trainable}, gradients()
    step(run, model, main, top, x, y)
    for n in trainable:
        d = grads[n] + hp.weight_decay * before[n]
        update = d if n.startswith("top.") else hp.momentum * buffers[n] + d  # momentum only where it belongs
        assert torch.allclose(named[n].detach(), before[n] - hp.lr * update, atol=1e-6), n


def test_dino_head_batch_norm_spreads_a_near_constant_batch_and_keeps_the_plain_layout():
    """A random trunk's pooled features barely differ between patches, so DINO's centred, sharpened target starts
    near uniform; batch norm in the head (DINO's use_bn_in_head) standardises each hidden unit over the batch."""
    from monossl.methods.dino import Head
    torch.manual_seed(0)
    x = torch.randn(1, 32) + 0.01 * torch.randn(64, 32)  # 64 nearly identical features
    plain, normed = Head(32, 64, 16, 128), Head(32, 64, 16, 128, bn=True)
    spread = {name: (h(x) - h(x).mean(0)).std(0).mean().item() for name, h in (("plain", plain), ("bn", normed))}
    assert spread["bn"] > 10 * spread["plain"]
    assert sum(isinstance(m, nn.BatchNorm1d) for m in normed.mlp) == 2
    assert [k for k in plain.state_dict() if k.startswith("mlp")] == [f"mlp.{i}.{p}" for i in (0, 2, 4)
                                                                       for p in ("weight", "bias")]
