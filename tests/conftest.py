"""Shared fixtures: tiny synthetic data made by the tests, and the real data in ../shared when present."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("MPLBACKEND", "Agg")
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def rgb_image(tmp_path) -> Path:
    """A 96x72 textured RGB PNG."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:72, 0:96]
    base = np.stack([x * 2.5, y * 3.0, (x + y) * 1.5], -1) + rng.normal(0, 20, (72, 96, 3))
    path = tmp_path / "source.png"
    Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def shared_images() -> Path:
    path = SHARED / "images"
    if not (path / "image_b.png").exists():
        pytest.skip("../shared/images is absent")
    return path


@pytest.fixture
def shared_cifar10() -> Path:
    path = SHARED / "data"
    if not (path / "cifar-10-batches-py" / "data_batch_1").exists():
        pytest.skip("../shared/data/cifar-10-batches-py is absent")
    return path
