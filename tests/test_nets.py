"""Trunks: named taps, BatchNorm absorption, probe dimensions, baselines, the checkpoint converter."""
import copy
import pytest
import torch
from torch import nn

from monossl.errors import UserError
from monossl.nets import absorb_batchnorm, build_trunk, load_trunk, save_trunk
from monossl.nets.init import kraehenbuehl_init, smooth_filters, wgan_gp_init
from monossl.nets.registry import resolve_trunk
from monossl.viz.filters import structure
from monossl.probes import TapFeatures


def randomise_bn(trunk):
    gen = torch.Generator().manual_seed(0)
    for m in trunk.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen))
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.weight.data.copy_(torch.randn(m.num_features, generator=gen))
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen))
    return trunk.eval()


@pytest.mark.parametrize("arch,size", [("cifar", 32), ("alexnet-small", 96)])
def test_batchnorm_absorption_leaves_outputs_unchanged(arch, size):
    trunk = randomise_bn(build_trunk(arch))
    x = torch.randn(2, 3, size, size)
    fused = absorb_batchnorm(trunk)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    before, after = trunk(x, trunk.tap_names), fused(x, trunk.tap_names)
    for t in trunk.tap_names:
        assert torch.allclose(before[t], after[t], atol=1e-5, rtol=1e-5), t


def test_taps_are_named_and_unknown_taps_fail():
    trunk = build_trunk("cifar")
    out = trunk(torch.randn(1, 3, 32, 32), ["conv2", "conv1"])
    assert set(out) == {"conv1", "conv2"} and out["conv1"].shape == (1, 96, 11, 11)
    assert (out["conv1"] >= 0).all()  # after the ReLU
    with pytest.raises(UserError, match="conv9"):
        trunk(torch.randn(1, 3, 32, 32), ["conv9"])


def test_probe_dimensions_cifar_full_resolution_and_alexnet_pooled():
    cifar = TapFeatures(build_trunk("cifar"), ["conv1", "conv2", "conv3", "conv4"])
    assert cifar.dims == {"conv1": 11616, "conv2": 9216, "conv3": 3456, "conv4": 3456}
    alex = TapFeatures(build_trunk("alexnet"), build_trunk("alexnet").tap_names, pool_target=9600)
    assert list(alex.dims.values()) == [9600, 9216, 9600, 9600, 9216]  # the paper's sizes
    feats = alex(torch.zeros(1, 3, 224, 224, dtype=torch.uint8))
    assert [v.shape[1] for v in feats.values()] == [9600, 9216, 9600, 9600, 9216]


def test_critic_body_has_no_batchnorm_and_leaky_relu():
    body = build_trunk("cifar", batchnorm=False, act="leaky")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in body.modules())
    assert any(isinstance(m, nn.LeakyReLU) for m in body.modules())


def test_random_init_is_seeded_and_he_scaled():
    a, b = build_trunk("cifar").reset_parameters(3), build_trunk("cifar").reset_parameters(3)
    w = a.features[0].weight
    assert torch.equal(w, b.features[0].weight)
    assert abs(w.std().item() - (2 / (7 * 7 * 96)) ** 0.5) < 0.01


def test_wgan_gp_init_matches_the_reference_fans():
    trunk = wgan_gp_init(build_trunk("cifar", batchnorm=False, act="leaky"), seed=1)
    convs = [m for m in trunk.modules() if isinstance(m, nn.Conv2d)]
    # conv1: fan_in 3*49 = 147, fan_out 96*49/9 = 522.7; conv2: 96*25 = 2400 and 256*25/4 = 1600
    for conv, fans in zip(convs, [(147, 96 * 49 / 9), (2400, 1600)]):
        std = (4 / sum(fans)) ** 0.5
        w = conv.weight
        assert abs(w.std().item() / std - 1) < 0.05 and w.abs().max() <= std * 3 ** 0.5 + 1e-7
        assert torch.count_nonzero(conv.bias) == 0
    again = wgan_gp_init(build_trunk("cifar", batchnorm=False, act="leaky"), seed=1)
    assert torch.equal(convs[0].weight, again.features[0].weight)


def test_smooth_filters_are_the_drawn_noise_blurred_and_rescaled():
    conv = nn.Conv2d(3, 8, 7)
    torch.nn.init.normal_(conv.weight, generator=torch.Generator().manual_seed(0))
    drawn = conv.weight.detach().clone()
    smooth_filters(conv)
    w = conv.weight.detach()
    # the same norm per filter as drawn
    assert torch.allclose(w.flatten(1).norm(dim=1), drawn.flatten(1).norm(dim=1), rtol=1e-5)
    # each filter channel is the drawn one convolved (zero padding) with [1,2,1] x [1,2,1], up to one scale per filter
    b = torch.tensor([1.0, 2.0, 1.0])
    blurred = torch.nn.functional.conv2d(drawn.reshape(-1, 1, 7, 7), (b[:, None] * b[None])[None, None], padding=1)
    blurred = blurred.reshape_as(drawn)
    ratio = w.flatten(1) / blurred.flatten(1)
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), rtol=1e-4)
    # the energy moves to long periods: white noise scores ~0.18, the smoothed bank far more
    assert structure(drawn)["structure"] < 0.3 < 0.6 < structure(w)["structure"]


def test_smooth_init_changes_conv1_alone_and_survives_redraws_and_checkpoints(tmp_path):
    plain = build_trunk("cifar", batchnorm=False, act="leaky").reset_parameters(5)
    smooth = build_trunk("cifar", batchnorm=False, act="leaky", init="smooth").reset_parameters(5)
    convs = lambda t: [m for m in t.modules() if isinstance(m, nn.Conv2d)]
    assert not torch.equal(convs(plain)[0].weight, convs(smooth)[0].weight)
    assert all(torch.equal(a.weight, b.weight) for a, b in zip(convs(plain)[1:], convs(smooth)[1:]))
    assert structure(convs(smooth)[0].weight)["structure"] > 0.6
    baseline, _, _ = resolve_trunk("random-critic-smooth", seed=5)
    assert torch.equal(baseline.features[0].weight, smooth.features[0].weight)
    save_trunk(tmp_path / "t.pt", smooth, "cifar")
    loaded, _, _ = load_trunk(tmp_path / "t.pt")
    assert loaded.config["init"] == "smooth" and torch.equal(loaded.features[0].weight, smooth.features[0].weight)
    with pytest.raises(UserError, match="init"):
        build_trunk("cifar", init="gabor")


@pytest.mark.parametrize("arch", ["alexnet", "alexnet-small"])
def test_alexnet_smooth_init_blurs_conv1_alone_and_is_the_random_smooth_baseline(arch, tmp_path):
    from monossl.nets.alexnet import AlexNet

    plain, smooth = build_trunk(arch, seed=3), build_trunk(arch, seed=3, init="smooth")
    convs = lambda t: [m for m in t.modules() if isinstance(m, nn.Conv2d)]
    expected = smooth_filters(copy.deepcopy(convs(plain)[0]), AlexNet.smooth_passes).weight  # the same draw, blurred
    assert torch.allclose(convs(smooth)[0].weight, expected)
    assert torch.allclose(convs(smooth)[0].weight.flatten(1).norm(dim=1), convs(plain)[0].weight.flatten(1).norm(dim=1))
    assert all(torch.equal(a.weight, b.weight) for a, b in zip(convs(plain)[1:], convs(smooth)[1:]))
    assert structure(convs(plain)[0].weight)["structure"] < 0.3 < 0.6 < structure(convs(smooth)[0].weight)["structure"]
    baseline, _, meta = resolve_trunk("random-smooth", arch=arch, seed=3)
    assert meta["init"] == "random-smooth" and torch.equal(convs(baseline)[0].weight, convs(smooth)[0].weight)
    save_trunk(tmp_path / "t.pt", smooth, arch)
    loaded, _, _ = load_trunk(tmp_path / "t.pt")
    assert loaded.config["init"] == "smooth" and torch.equal(convs(loaded)[0].weight, convs(smooth)[0].weight)
    for spec in ("random-smooth", "random-sobel", "random-sobel-smooth", "random-leaky"):  # options the WRN lacks
        with pytest.raises(UserError, match=f"{spec} is a baseline of the cifar trunk and the AlexNets, not of wrn-16-4"):
            resolve_trunk(spec, arch="wrn-16-4")
    sobel_plain, sobel_smooth = build_trunk(arch, seed=3, sobel=True), build_trunk(arch, seed=3, sobel=True, init="smooth")
    expected = smooth_filters(copy.deepcopy(convs(sobel_plain)[2]), AlexNet.smooth_passes).weight  # after gray, Sobel
    assert torch.allclose(convs(sobel_smooth)[2].weight, expected) and convs(sobel_smooth)[2].in_channels == 2
    assert all(torch.equal(a.weight, b.weight) for a, b in zip(convs(sobel_plain)[3:], convs(sobel_smooth)[3:]))
    assert torch.equal(convs(sobel_smooth)[1].weight, convs(sobel_plain)[1].weight)  # the Sobel filter untouched
    baseline, _, meta = resolve_trunk("random-sobel-smooth", arch=arch, seed=3)
    assert baseline.config["sobel"] and torch.equal(convs(baseline)[2].weight, convs(sobel_smooth)[2].weight)


def test_kraehenbuehl_init_gives_unit_variance_preactivations():
    trunk = build_trunk("cifar").reset_parameters(0)
    x = torch.randn(64, 3, 32, 32)
    kraehenbuehl_init(trunk, x)
    h = x
    for layer in trunk.features:
        if isinstance(layer, nn.Conv2d):
            pre = layer(h)
            assert abs(pre.std(dim=(0, 2, 3)).mean().item() - 1) < 0.02
            assert pre.mean(dim=(0, 2, 3)).abs().max().item() < 0.02
        h = layer(h)


def deepcluster_layout():
    """A module with DeepCluster's key names: sobel.*, features.N.*, top_layer.*."""
    layers, prev = [], 2
    for width, k, s, p, pool in [(96, 11, 4, 2, True), (256, 5, 1, 2, True), (384, 3, 1, 1, False),
                                 (384, 3, 1, 1, False), (256, 3, 1, 1, True)]:
        layers += [nn.Conv2d(prev, width, k, s, p), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        layers += [nn.MaxPool2d(3, 2)] if pool else []
        prev = width
    model = nn.Module()
    model.sobel = nn.Sequential(nn.Conv2d(3, 1, 1), nn.Conv2d(1, 2, 3, padding=1))
    model.features = nn.Sequential(*layers)
    model.top_layer = nn.Linear(10, 10)
    return model


def test_deepcluster_checkpoint_converts_and_matches(tmp_path):
    ref = deepcluster_layout()
    randomise_bn(ref)
    state = {f"module.{k}": v for k, v in ref.state_dict().items()}
    torch.save({"state_dict": state, "epoch": 3}, tmp_path / "dc.pth")
    trunk, arch, meta = load_trunk(tmp_path / "dc.pth", "alexnet")
    assert arch == "alexnet" and trunk.config["sobel"] and meta["input_norm"] == "imagenet"
    trunk.eval()
    x = torch.randn(1, 3, 64, 64)
    sob = trunk.features[0](x)
    assert torch.allclose(trunk(x), ref.features(sob), atol=1e-5)


def test_rotnet_layout_converts(tmp_path):
    blocks = nn.ModuleList()
    prev = 3
    for width, k, s, p in [(64, 11, 4, 2), (192, 5, 1, 2), (384, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1)]:
        blocks.append(nn.Sequential(nn.Conv2d(prev, width, k, s, p, bias=False), nn.BatchNorm2d(width), nn.ReLU()))
        prev = width
    holder = nn.Module()
    holder._feature_blocks = blocks
    torch.save({"network": holder.state_dict(), "epoch": 30}, tmp_path / "rot.pth")
    trunk, _, _ = load_trunk(tmp_path / "rot.pth", "alexnet-small")
    assert torch.equal(trunk.features[4].weight, blocks[1][0].weight)
    assert torch.equal(trunk.features[4].bias, torch.zeros(192))  # bias-free convs load with zero bias


def test_checkpoint_errors(tmp_path):
    save_trunk(tmp_path / "c.pt", build_trunk("cifar"), "cifar")
    assert load_trunk(tmp_path / "c.pt")[1] == "cifar"
    with pytest.raises(UserError, match="drop --arch"):
        load_trunk(tmp_path / "c.pt", "alexnet")
    torch.save(build_trunk("cifar").state_dict(), tmp_path / "plain.pt")
    with pytest.raises(UserError, match="does not fit --arch alexnet"):
        load_trunk(tmp_path / "plain.pt", "alexnet")
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    with pytest.raises(UserError, match="not a PyTorch checkpoint"):
        load_trunk(tmp_path / "junk.pt", "cifar")


@pytest.mark.parametrize("fmt", ["safetensors", "torchscript"])
def test_export_round_trips_bit_for_bit_and_every_command_takes_it(fmt, tmp_path, rgb_image):
    from monossl.cli import main
    from monossl.nets.export import load_exported
    from monossl.nets.registry import resolve_trunk

    run = tmp_path / "run"
    assert main(["pretrain", "rotnet", "--source", str(rgb_image), "--count", "32", "--epochs", "1", "--batch-size", "16",
                 "--workers", "0", "--out", str(run)]) == 0
    out = tmp_path / "export"
    assert main(["export", str(run), "--format", fmt, "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} >= {"model.safetensors", "config.json", "README.md"}
    card = (out / "README.md").read_text()
    assert "monossl pretrain rotnet --source" in card and "your own image" in card and "rotnet" in card
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    original, exported = load_trunk(run)[0].eval(), resolve_trunk(str(out))[0].eval()
    with torch.no_grad():
        for tap in ("conv1", "conv4"):
            assert torch.equal(original(x, [tap])[tap], exported(x, [tap])[tap])
    if fmt == "torchscript":
        scripted = torch.jit.load(str(out / "model.torchscript.pt"))
        with torch.no_grad():
            assert torch.equal(scripted(x), original(x))
    assert main(["viz", "filters", str(out), "--out", str(tmp_path / "f.png")]) == 0  # a TRUNK like any other
    assert main(["export", str(run), "--out", str(out)]) == 2  # never over an earlier export
    assert load_exported(out).tap_names == ["conv1", "conv2", "conv3", "conv4"]
