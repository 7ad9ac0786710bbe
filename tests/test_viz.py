"""Visualisations on behaviour: filter grid tiles, activation maximisation, retrieval, style transfer."""
import numpy as np
import torch
from PIL import Image

from monossl.cli import main
from monossl.nets import build_trunk, save_trunk
from monossl.viz.actmax import activation_maximisation, unit_activation
from monossl.viz.filters import filter_tiles, first_conv
from monossl.viz.retrieval import retrieval, top_images, unit_scores
from monossl.viz.style import style_transfer


def test_filter_grid_has_one_tile_per_filter_scaled_to_unit_range():
    trunk = build_trunk("cifar")
    tiles = filter_tiles(first_conv(trunk).weight)
    assert tiles.shape == (96, 7, 7, 3)
    assert np.allclose(np.abs(tiles).reshape(96, -1).max(1), 1.0)
    assert filter_tiles(first_conv(build_trunk("cifar", sobel=True)).weight).shape == (96, 7, 7, 3)


def test_viz_filters_cli_writes_png(tmp_path):
    save_trunk(tmp_path / "t.pt", build_trunk("cifar"), "cifar")
    assert main(["viz", "filters", str(tmp_path / "t.pt"), "--out", str(tmp_path / "f.png")]) == 0
    assert Image.open(tmp_path / "f.png").size[0] > 100


def test_activation_maximisation_raises_the_unit_far_above_random_images():
    trunk = build_trunk("cifar").reset_parameters(1)
    images, units = activation_maximisation(trunk, "conv2", units=[3, 7], size=32, steps=150, lr=0.1, seed=0,
                                            progress=False)
    assert images.shape == (2, 3, 32, 32) and images.min() >= 0 and images.max() <= 1
    optimised = unit_activation(trunk, "conv2", images, units).diag()
    noise = unit_activation(trunk, "conv2", torch.rand(16, 3, 32, 32), units)  # uniform noise: a strong stimulus
    grey = unit_activation(trunk, "conv2", torch.full((1, 3, 32, 32), 0.5), units)[0]
    assert (optimised > 2 * noise.mean(0)).all() and (optimised > noise.max(0).values).all()
    assert (optimised > 5 * grey.clamp_min(1e-3)).all()


def test_activation_maximisation_is_deterministic():
    trunk = build_trunk("cifar")
    a, _ = activation_maximisation(trunk, "conv1", units=[0], size=32, steps=5, seed=3, progress=False)
    b, _ = activation_maximisation(trunk, "conv1", units=[0], size=32, steps=5, seed=3, progress=False)
    assert torch.equal(a, b)


def test_retrieval_returns_the_true_top_nine():
    """Unit 0 of a hand-set conv1 sums the red channel, so its top 9 are the 9 reddest images."""
    trunk = build_trunk("cifar", batchnorm=False)
    conv = first_conv(trunk)
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        conv.weight[0, 0] = 1.0
        conv.bias[0] = 10.0  # keep the ReLU open
    rng = np.random.default_rng(0)
    images = np.zeros((30, 32, 32, 3), np.uint8)
    red = rng.permutation(30) * 8
    images[..., 0] = red[:, None, None]
    tiles, units = retrieval(trunk, images, "conv1", units=[0], k=9)
    expected = np.argsort(-red)[:9]
    assert units == [0] and np.array_equal(tiles, images[expected])
    assert np.array_equal(top_images(unit_scores(trunk, images, "conv1"), [0])[0], expected)


def test_style_loss_falls_and_content_layout_survives():
    y, x = np.mgrid[0:64, 0:64]
    content = torch.zeros(1, 3, 64, 64)
    content[:, :, :, 32:] = 1.0  # dark left half, bright right half
    stripes = ((np.sin(x / 2.0) > 0) * 1.0).astype(np.float32)
    style = torch.from_numpy(np.stack([stripes, 1 - stripes, stripes * 0.5]))[None]
    trunk = build_trunk("cifar").reset_parameters(0)
    image, history = style_transfer(trunk, content, style, steps=4, progress=False)
    assert history[-1] < 0.5 * history[0]
    left, right = image[0, :, :, :32].mean(), image[0, :, :, 32:].mean()
    assert right > left + 0.2  # the layout of the content is kept


def test_viz_bad_input(tmp_path, capsys):
    cases = [
        (["viz", "actmax", "random", "--arch", "cifar", "--layer", "conv9", "--out", str(tmp_path / "a.png")], "unknown tap"),
        (["viz", "actmax", "random", "--arch", "cifar", "--layer", "conv1", "--units", "500", "--out", str(tmp_path / "a.png")], "--units"),
        (["viz", "filters", str(tmp_path / "missing.pt"), "--out", str(tmp_path / "b.png")], "no such checkpoint"),
        (["viz", "filters", "random", "--out", str(tmp_path)], "is a folder"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert message in err[-1], err
        assert not (tmp_path / "a.png").exists()
