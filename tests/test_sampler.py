"""The §3.1 protocol: no fill leaks in, antialiasing, parameter ranges, determinism."""

import numpy as np
import pytest

from monossl.data.augment import AugmentConfig
from monossl.data.sampler import PatchSampler, jitter_matrices
from monossl.errors import UserError


def test_white_source_gives_white_patches_no_fill_leaks():
    white = np.full((60, 90, 3), 255, np.uint8)
    sampler = PatchSampler([white], AugmentConfig(size=16, jitter=False), seed=1)
    patches = sampler.patches(np.arange(2000))
    assert patches.min() == 255


@pytest.mark.parametrize("resample", ["mip", "supersample"])
def test_fine_checkerboard_with_scale_off_is_grey_where_plain_bilinear_aliases(resample):
    board = ((np.indices((250, 250)).sum(0) % 2) * 255).astype(np.uint8)
    board = np.repeat(board[:, :, None], 3, axis=2)
    cfg = AugmentConfig(size=32, scale=False, rotation=False, jitter=False, resample=resample)
    patches = PatchSampler([board], cfg, seed=0).patches(np.arange(8)).astype(float)
    assert abs(patches.mean() - 127.5) < 3 and patches.std() < 3
    # and the filter removes only what cannot be shown: 25-px squares (about 3 output pixels) keep their contrast
    coarse = ((np.indices((250, 250)) // 25).sum(0) % 2 * 255).astype(np.uint8)
    kept = PatchSampler([np.repeat(coarse[:, :, None], 3, axis=2)], cfg, seed=0).patches(np.arange(8)).astype(float)
    assert kept.std() > 90 and ((kept < 40) | (kept > 215)).mean() > 0.5


def test_rotated_scale_off_box_is_largest_fit_of_source_aspect():
    sampler = PatchSampler([np.zeros((300, 400, 3), np.uint8)], AugmentConfig(scale=False), seed=0)
    p = sampler.params(np.arange(200))
    assert np.allclose(p["w"] / p["h"], 400 / 300)
    assert np.allclose(p["cx"], 200) and np.allclose(p["cy"], 150)
    c, s = np.abs(np.cos(p["angle"])), np.abs(np.sin(p["angle"]))
    fits = np.maximum((p["w"] * c + p["h"] * s) / 400, (p["w"] * s + p["h"] * c) / 300)
    assert np.allclose(fits, 1.0)  # touching the boundary: the largest that fits


def test_no_scale_no_rotation_is_the_whole_image():
    sampler = PatchSampler([np.zeros((30, 50, 3), np.uint8)], AugmentConfig(scale=False, rotation=False), seed=0)
    p = sampler.params(np.arange(10))
    assert np.allclose(p["w"], 50) and np.allclose(p["h"], 30) and np.all(p["angle"] == 0)


@pytest.mark.parametrize("beta,gamma,max_angle", [(1e-3, 0.75, 35.0), (0.3, 0.5, 10.0)])
def test_box_areas_ratios_angles_respect_the_protocol(beta, gamma, max_angle):
    W, H = 640.0, 480.0
    cfg = AugmentConfig(beta=beta, gamma=gamma, max_angle=max_angle)
    p = PatchSampler([np.zeros((480, 640, 3), np.uint8)], cfg, seed=3).params(np.arange(20000))
    area = p["w"] * p["h"] / (W * H)
    ratio = p["h"] / p["w"]
    assert area.min() >= beta * (1 - 1e-9) and area.max() <= 1 + 1e-9
    assert ratio.min() >= gamma - 1e-9 and ratio.max() <= 1 / gamma + 1e-9
    assert np.abs(np.degrees(p["angle"])).max() <= max_angle
    assert np.abs(np.degrees(p["angle"])).max() > 0.9 * max_angle  # the whole range is used
    # every corner of every rotated box lies inside the source
    for sx, sy in [(-1, -1), (-1, 1), (1, -1), (1, 1)]:
        dx, dy = sx * p["w"] / 2, sy * p["h"] / 2
        x = p["cx"] + np.cos(p["angle"]) * dx - np.sin(p["angle"]) * dy
        y = p["cy"] + np.sin(p["angle"]) * dx + np.cos(p["angle"]) * dy
        assert x.min() >= -1e-6 and x.max() <= W + 1e-6 and y.min() >= -1e-6 and y.max() <= H + 1e-6


def test_same_seed_same_bytes_whatever_the_chunking_different_seed_differs(rgb_image):
    from monossl.data.sources import decode_image

    img = decode_image(rgb_image)
    a = PatchSampler([img], AugmentConfig(size=24), seed=5)
    b = PatchSampler([img], AugmentConfig(size=24), seed=5)
    idx = np.arange(5000, 9500)  # spans two parameter blocks
    whole = a.patches(idx)
    pieces = np.concatenate([b.patches(idx[i:i + 7], chunk_pixels=24 * 24 * 3) for i in range(0, len(idx), 7)])
    assert whole.tobytes() == pieces.tobytes()
    assert a.patches(idx[::-1])[::-1].tobytes() == whole.tobytes()
    other = PatchSampler([img], AugmentConfig(size=24), seed=6).patches(idx)
    assert other.tobytes() != whole.tobytes()


def test_patch_source_is_index_mod_n():
    black, white = np.zeros((40, 40, 3), np.uint8), np.full((40, 40, 3), 255, np.uint8)
    patches = PatchSampler([black, white], AugmentConfig(size=8, jitter=False), seed=0).patches(np.arange(6))
    assert [int(p.mean()) for p in patches] == [0, 255, 0, 255, 0, 255]


def test_jitter_is_identity_at_neutral_factors_and_keeps_gray_gray():
    m = jitter_matrices(np.ones(1), np.ones(1), np.ones(1), np.zeros(1))[0]
    assert np.allclose(m, np.eye(3), atol=1e-6)
    m = jitter_matrices(np.ones(1), np.ones(1), np.array([0.7]), np.array([0.08]))[0]
    assert np.allclose(m @ np.ones(3), np.ones(3), atol=1e-5)  # hue and saturation leave gray alone


def test_hue_shift_by_a_third_of_the_circle_permutes_primaries():
    m = jitter_matrices(np.ones(1), np.ones(1), np.ones(1), np.array([1 / 3]))[0]
    red = m @ np.array([1.0, 0, 0])
    assert np.argmax(red) == 1  # red moves towards green


def test_bad_parameters_are_user_errors_when_the_config_is_made():
    for bad, message in [({"beta": 0}, "beta=0.0: must be more than 0"), ({"beta": 1.5}, "at most 1"),
                         ({"gamma": 0}, "more than 0"), ({"gamma": 1.2}, "at most 1"), ({"size": 0}, "size=0"),
                         ({"brightness": (1.4, 0.6)}, "low <= high"), ({"hue": (0.1, 0.9)}, "at most 0.5"),
                         ({"resample": "lanczos"}, "choose mip, supersample")]:
        with pytest.raises(UserError, match=message):
            AugmentConfig(**bad)


def test_thin_image_works_or_fails_clearly():
    thin = np.zeros((3, 4000, 3), np.uint8)
    patches = PatchSampler([thin], AugmentConfig(size=8), seed=0).patches(np.arange(50))
    assert patches.shape == (50, 8, 8, 3)
    with pytest.raises(UserError, match="too thin"):
        PatchSampler([np.zeros((3, 10000, 3), np.uint8)], AugmentConfig(size=8))


def test_small_image_is_upsampled_with_a_warning():
    with pytest.warns(UserWarning, match="upsampled"):
        s = PatchSampler([np.zeros((10, 12, 3), np.uint8)], AugmentConfig(size=32))
    assert s.patches(np.arange(3)).shape == (3, 32, 32, 3)


@pytest.mark.parametrize("resample", ["mip", "supersample"])
def test_large_crop_does_not_alias_at_32px(resample):
    """A 2000-px crop of a 1-px stripe pattern shown at 32 px is uniform, not moire."""
    stripes = np.repeat(((np.arange(2048) % 2) * 255).astype(np.uint8)[None, :, None], 2048, 0).repeat(3, 2)
    cfg = AugmentConfig(size=32, scale=False, rotation=False, jitter=False, flip=False, resample=resample)
    patch = PatchSampler([stripes], cfg).patches([0]).astype(float)
    assert patch.std() < 2


def grating_contrast(period_out: float, resample: str | None) -> float:
    """Michelson-like amplitude (1 = kept whole) of a vertical cosine grating of `period_out` output
    pixels, shown at 32 px from 1152 px (36 source pixels an output pixel: the mipmap's worst case,
    just past a power of two). resample None: Pillow's antialiased bilinear resize, the yardstick."""
    from PIL import Image

    x = np.arange(1152) + 0.5
    row = 127.5 + 100 * np.cos(2 * np.pi * x / (period_out * 36))
    img = np.repeat(np.repeat(row[None, :, None], 1152, 0), 3, 2).round().astype(np.uint8)
    if resample is None:
        out = np.asarray(Image.fromarray(img).resize((32, 32), Image.BILINEAR))
    else:
        cfg = AugmentConfig(size=32, scale=False, rotation=False, jitter=False, flip=False, resample=resample)
        out = PatchSampler([img], cfg).patches([0])[0]
    return float(out[:, :, 0].astype(float).std() * np.sqrt(2) / 100)


def test_supersampling_is_as_sharp_as_an_antialiased_resize_and_still_does_not_alias():
    for period in (3, 4):  # detail conv1 can see
        mip, sharp, pil = (grating_contrast(period, r) for r in ("mip", "supersample", None))
        assert mip < 0.6 * pil and sharp >= 0.95 * pil  # the mipmap halves it; supersampling keeps it
    for period in (1.25, 1.6):  # beyond Nyquist: must be filtered out, not folded back
        assert grating_contrast(period, "supersample") < 0.35


def test_resample_is_validated_in_the_callers_language():
    with pytest.raises(UserError) as refused:
        AugmentConfig(resample="nearest")
    assert str(refused.value).startswith("resample='nearest'") and refused.value.cli_text().startswith("--resample nearest")
