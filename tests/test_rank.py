"""`monossl rank`: obvious cases order as they must, the output is deterministic, bad files are one line."""
import json

import pytest
import numpy as np
from PIL import Image

from monossl.cli import main
from monossl.rank import patch_statistics, rank_images


def save(path, array):
    Image.fromarray(np.clip(array, 0, 255).astype(np.uint8)).save(path)
    return str(path)


def test_flat_and_near_flat_rank_last(tmp_path, rgb_image):
    rng = np.random.default_rng(0)
    flat = save(tmp_path / "flat.png", np.full((200, 300, 3), 128))
    near = save(tmp_path / "near.png", 128 + rng.normal(0, 2, (200, 300, 3)))
    y, x = np.mgrid[0:200, 0:300]
    stripes = save(tmp_path / "stripes.png", np.stack([127 + 100 * np.sin(x / 3.0 + y / 7.0)] * 3, -1)
                   * np.array([1.0, 0.6, 0.3]))
    leaves = "synthetic:deadleaves"
    rows = rank_images([flat, near, stripes, leaves, str(rgb_image)], count=128)
    order = [r["image"] for r in rows]
    assert order[-1] == flat and order[-2] == near
    assert rows[-1]["score"] == 0.0 and rows[-2]["score"] < 0.25 * rows[-3]["score"]
    assert rank_images([stripes, leaves], count=128) == rank_images([stripes, leaves], count=128)


def test_statistics_respond_to_what_they_measure():
    rng = np.random.default_rng(0)
    gray = np.repeat(rng.integers(0, 255, (64, 32, 32, 1)), 3, axis=3).astype(np.uint8)
    coloured = rng.integers(0, 255, (64, 32, 32, 3)).astype(np.uint8)
    assert patch_statistics(gray)["colour"] < 1e-9 < patch_statistics(coloured)["colour"]
    smooth = np.repeat(np.repeat(coloured[:, ::8, ::8], 8, 1), 8, 2)
    assert patch_statistics(smooth)["edges"] < patch_statistics(coloured)["edges"]
    repeated = np.repeat(coloured[:1], 64, 0)
    assert patch_statistics(repeated)["diversity"] < 0.01 < patch_statistics(coloured)["diversity"]


def test_rank_cli_writes_json_and_refuses_bad_files(tmp_path, rgb_image, capsys):
    out = tmp_path / "ranking.json"
    assert main(["rank", str(rgb_image), "synthetic:noise", "--count", "64", "--out", str(out)]) == 0
    ranking = json.loads(out.read_text())["ranking"]
    assert len(ranking) == 2 and ranking[0]["score"] >= ranking[1]["score"]
    capsys.readouterr()
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    assert main(["rank", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a readable image" in err


def test_spearman_is_rank_correlation():
    from monossl.rank import spearman

    assert spearman([1, 2, 3, 4], [10, 20, 30, 400]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3], [5, 5, 5]) != spearman([1, 2, 3], [5, 5, 5])  # NaN: undefined, no warning


def test_permutation_p_value_is_exact_for_small_sets():
    from monossl.rank import permutation_p, spearman

    x, y = [1, 2, 3, 4], [1, 2, 3, 4]
    assert permutation_p(x, y, spearman(x, y)) == pytest.approx(1 / 24)  # only the identity pairing reaches 1
    assert permutation_p(x, [4, 3, 2, 1], -1.0) == 1.0
