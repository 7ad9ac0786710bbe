"""Synthetic sources: the spec parser, determinism, what each kind looks like, and generate end to end."""
import numpy as np
import pytest

from monossl.cli import main
from monossl.data.specs import load_sources
from monossl.data.specs import SourceSpec
from monossl.data.synthetic import render
from monossl.errors import UserError


def test_source_spec_grammar_is_one_parser_for_every_kind():
    read = lambda t: (lambda s: (s.kind, s.target, s.count))(SourceSpec.parse(t))  # noqa: E731
    assert read("synthetic:fractal") == ("synthetic", "fractal", 1) and read("synthetic:noise:10") == ("synthetic", "noise", 10)
    assert read("cifar10:10") == ("cifar10", "", 10) and read("cifar100:1000") == ("cifar100", "", 1000)
    assert read("folder:/data/imagenet/train:5") == ("folder", "/data/imagenet/train", 5)
    assert read("paper:image_a") == ("paper", "image_a", None) and read("skimage:coffee") == ("skimage", "coffee", None)
    assert read("photos/cat.jpg") == ("path", "photos/cat.jpg", None) and read("C-3PO:x.png")[0] == "path"
    for bad, message in [("synthetic:clouds", "KIND one of deadleaves"), ("synthetic:noise:x", "whole number"),
                         ("synthetic:noise:0", "1..10000"), ("synthetic:noise:1:2", "KIND one of"),
                         ("cifar10:", "whole number"), ("cifar10:ten", "whole number"), ("folder:/data", "number of images"),
                         ("paper:image_c", "NAME one of image_a, image_b"), ("skimage:lena", "NAME one of astronaut")]:
        with pytest.raises(UserError, match=message):
            SourceSpec.parse(bad)


@pytest.mark.parametrize("kind", ["deadleaves", "fractal", "noise"])
def test_rendering_is_deterministic_and_varied(kind):
    a, b = render(kind, 0, seed=0, height=240, width=320), render(kind, 0, seed=0, height=240, width=320)
    assert a.shape == (240, 320, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert not np.array_equal(a, render(kind, 1, seed=0, height=240, width=320))
    assert not np.array_equal(a, render(kind, 0, seed=1, height=240, width=320))
    assert a.std() > 10  # not flat


def test_kinds_have_their_signatures():
    leaves = render("deadleaves", 0, 0, 480, 640)
    assert len(np.unique(leaves.reshape(-1, 3), axis=0)) > 200  # many flat-coloured discs
    frac = render("fractal", 0, 0, 480, 640)
    assert 0.01 < (frac.max(2) > 0).mean() < 0.9  # a figure on black
    noise = render("noise", 0, 0, 480, 640).astype(np.float64).mean(2)
    assert np.corrcoef(noise[:, :-1].ravel(), noise[:, 1:].ravel())[0, 1] > 0.9  # 1/f: neighbours correlate


def test_sources_and_generate_accept_synthetic_specs(tmp_path):
    images, names = load_sources(["synthetic:noise:2"], seed=3)
    assert len(images) == 2 and names == ["synthetic:noise[0]", "synthetic:noise[1]"] and images[0].shape == (1920, 2560, 3)
    for kind in ("deadleaves", "fractal", "noise"):
        out = tmp_path / kind
        assert main(["generate", f"synthetic:{kind}", "--size", "32", "--count", "256", "--out", str(out)]) == 0
        patches = np.load(out / "patches.npy")
        assert patches.shape == (256, 32, 32, 3) and patches.reshape(256, -1).std(1).mean() > 3


def test_bundled_photographs_are_sources_and_unknown_names_are_refused():
    from monossl.data.sources import PHOTOS
    from monossl.errors import UserError

    images, names = load_sources(["skimage:coffee"])
    assert names == ["skimage:coffee"] and images[0].shape == (400, 600, 3) and images[0].dtype == np.uint8
    assert "astronaut" in PHOTOS
    (grey,), _ = load_sources(["skimage:clock"])  # a grey photograph: its one channel repeated into RGB
    assert grey.shape == (300, 400, 3) and grey.dtype == np.uint8
    for name in PHOTOS:  # every listed photograph ships with scikit-image's wheel: no download
        (image,), _ = load_sources([f"skimage:{name}"])
        assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8 and min(image.shape[:2]) >= 128
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all() and grey.std() > 5
    with pytest.raises(UserError, match="NAME one of astronaut"):
        load_sources(["skimage:cameraman"])
