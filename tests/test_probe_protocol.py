"""The probe protocol's parts: per-channel statistics, the flip cache, crop-flip views, seeds, the result's record."""
import json
from dataclasses import fields

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from monossl.cli import main
from monossl.nets import build_trunk
from monossl.probes import (ProbeConfig, ProbeNorm, TapFeatures, aggregate, crop_flip, extract, flip_nhwc,
                            population_stats)


def test_per_channel_norm_equals_batchnorm2d_on_the_tap():
    torch.manual_seed(0)
    x = torch.randn(16, 5, 3, 3) * torch.arange(1, 6).view(1, 5, 1, 1) + 2
    norm = ProbeNorm((5, 3, 3), "channel").train()
    reference = torch.nn.BatchNorm2d(5, affine=False, momentum=None).train()
    assert torch.allclose(norm(x.flatten(1)), reference(x).flatten(1), atol=1e-5)
    assert torch.allclose(norm.running_mean, reference.running_mean) and torch.allclose(norm.running_var, reference.running_var)
    mean, var = population_stats(x.flatten(1).numpy().astype(np.float16), (5, 3, 3), "channel")
    assert torch.allclose(mean, x.mean((0, 2, 3)), atol=2e-2) and torch.allclose(var, x.var((0, 2, 3), unbiased=False), rtol=2e-2)
    per_feature = ProbeNorm((5, 3, 3), "feature").train()
    assert torch.allclose(per_feature(x.flatten(1)), F.batch_norm(x.flatten(1), None, None, training=True), atol=1e-5)


def test_flip_cache_holds_the_features_of_mirrored_images():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    features = TapFeatures(build_trunk("cifar"), ["conv1", "conv3"])
    cache = extract(features, images, ProbeConfig(), None, "test", flip=True, batch_size=4)
    mirrored = features(torch.from_numpy(np.ascontiguousarray(images[:, :, ::-1])).permute(0, 3, 1, 2))
    for tap in ("conv1", "conv3"):
        assert cache[tap].shape[0] == 12
        assert np.allclose(cache[tap][6:].astype(np.float32), mirrored[tap].half().float().numpy())
    assert np.array_equal(flip_nhwc(flip_nhwc(images)), images)


def test_crop_flip_is_a_padded_crop_and_a_flip():
    rng = np.random.default_rng(0)
    images = rng.integers(1, 256, (50, 8, 8, 3), dtype=np.uint8)
    views = crop_flip(images, np.random.default_rng(5), padding=2)
    draw = np.random.default_rng(5)
    dy, dx, flip = draw.integers(0, 5, 50), draw.integers(0, 5, 50), draw.random(50) < 0.5
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)))
    for i in range(50):
        crop = padded[i, dy[i]:dy[i] + 8, dx[i]:dx[i] + 8]
        if flip[i]:
            crop = crop[:, ::-1]
        assert np.array_equal(views[i].permute(1, 2, 0).numpy(), crop)
    assert (views == 0).any()  # the padding shows
    unflipped = sum(np.array_equal(views[i].permute(1, 2, 0).numpy(), padded[i, dy[i]:dy[i] + 8, dx[i]:dx[i] + 8])
                    for i in range(50))
    assert 10 < 50 - unflipped < 40  # about half the views come out mirrored


def test_seed_aggregation_gives_mean_and_sample_std():
    per_seed = {"0": {"conv1": {"top1": 50.0}}, "1": {"conv1": {"top1": 52.0}}, "2": {"conv1": {"top1": 54.0}}}
    out = aggregate(per_seed)["conv1"]
    assert out["top1"] == 52.0 and out["top1_std"] == pytest.approx(2.0)
    assert aggregate({"0": {"conv1": {"top1": 50.0}}})["conv1"]["top1_std"] == 0.0


@pytest.mark.parametrize("augment,norm,stats", [("flip", "channel", "batch"), ("none", "feature", "population"),
                                                ("crop-flip", "channel", "population")])
def test_probe_result_records_protocol_seeds_and_curves(tiny_cifar, tmp_path, augment, norm, stats):
    out = tmp_path / "r.json"
    assert main(["probe", "random", "--dataset", "cifar10", "--data-root", str(tiny_cifar), "--epochs", "2",
                 "--batch-size", "16", "--augment", augment, "--norm", norm, "--bn-stats", stats, "--seeds", "0,1",
                 "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert {f.name for f in fields(ProbeConfig)} <= set(result["protocol"])
    assert result["protocol"]["augment"] == augment and result["protocol"]["norm"] == norm
    assert result["protocol"]["bn_stats"] == stats and result["protocol"]["seeds"] == [0, 1]
    assert set(result["seeds"]) == {"0", "1"} and "top1_std" in result["taps"]["conv1"]
    curve = result["curves"]["0"]
    assert [p["epoch"] for p in curve] == [1, 2] and set(curve[0]["test_top1"]) == {"conv1", "conv2", "conv3", "conv4"}
    mean = np.mean([result["seeds"][s]["conv2"]["top1"] for s in ("0", "1")])
    assert result["taps"]["conv2"]["top1"] == pytest.approx(mean)
    assert "±" in out.with_suffix(".md").read_text()
    assert not list(tmp_path.glob("*.partial.json")) and not list(tmp_path.glob("*.state.pt"))


def test_random_sobel_baseline_is_deepclusters_trunk_at_init():
    from monossl.nets.registry import resolve_trunk

    trunk, arch, meta = resolve_trunk("random-sobel", seed=3)
    assert arch == "cifar" and trunk.config["sobel"] is True and meta["init"] == "random-sobel"
    plain, _, _ = resolve_trunk("random", seed=3)
    images = torch.rand(2, 3, 32, 32)
    cast = images + torch.tensor([0.3, -0.2, -0.1]).view(1, 3, 1, 1)  # a colour cast that keeps every pixel's grey
    trunk.eval(), plain.eval()
    assert torch.allclose(trunk(images), trunk(cast), atol=1e-5)  # behind Sobel only grey gradients count
    assert not torch.allclose(plain(images), plain(cast), atol=1e-3)


def test_random_critic_baseline_is_the_critic_at_init():
    from monossl.nets.registry import resolve_trunk

    trunk, arch, meta = resolve_trunk("random-critic", seed=3)
    assert arch == "cifar" and trunk.config["batchnorm"] is False and trunk.config["act"] == "leaky"
    again, _, _ = resolve_trunk("random-critic", seed=3)
    assert all(torch.equal(a, b) for a, b in zip(trunk.state_dict().values(), again.state_dict().values()))
