"""Shared fixtures: tiny synthetic data made by the tests, and the real data in ../shared when present."""
from __future__ import annotations

import http.server
import os
import threading
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


def write_cifar(root: Path, name: str = "cifar10", n_train: int = 60, n_test: int = 30, classes: int = 10, seed: int = 0,
                bad_label: bool = False) -> Path:
    """A tiny CIFAR in the official python layout; class k images are brighter with k (learnable)."""
    import pickle

    rng = np.random.default_rng(seed)
    folder = root / ("cifar-10-batches-py" if name == "cifar10" else "cifar-100-python")
    folder.mkdir(parents=True, exist_ok=True)
    key = "labels" if name == "cifar10" else "fine_labels"

    def batch(n):
        labels = rng.integers(0, classes, n)
        base = (labels[:, None] * (200 // classes) + rng.integers(0, 40, (n, 3072))).clip(0, 255).astype(np.uint8)
        if bad_label:
            labels[0] = classes + 5
        return {"data": base, key: labels.tolist()}

    files = ([f"data_batch_{i}" for i in range(1, 6)], ["test_batch"]) if name == "cifar10" else (["train"], ["test"])
    for names, total in zip(files, (n_train, n_test)):
        for f in names:
            with open(folder / f, "wb") as h:
                pickle.dump(batch(total // len(names)), h)
    return folder


def textured_png(path: Path) -> Path:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:72, 0:96]
    base = np.stack([x * 2.5, y * 3.0, (x + y) * 1.5], -1) + rng.normal(0, 20, (72, 96, 3))
    Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def rgb_image_module(tmp_path_factory) -> Path:
    """The 96x72 textured PNG, once for a module."""
    return textured_png(tmp_path_factory.mktemp("image") / "source.png")


@pytest.fixture(scope="module")
def tiny_cifar_module(tmp_path_factory):
    """The tiny CIFAR-10 root, once for a module (its expected counts patched for the module's tests)."""
    from monossl.data import cifar

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(cifar.SPECS["cifar10"], "counts", (60, 30))
        root = tmp_path_factory.mktemp("data")
        write_cifar(root)
        yield root


@pytest.fixture
def tiny_cifar(tmp_path, monkeypatch) -> Path:
    """A data root holding a tiny CIFAR-10 (60 train, 30 test); the expected counts are patched to match."""
    from monossl.data import cifar

    monkeypatch.setitem(cifar.SPECS["cifar10"], "counts", (60, 30))
    root = tmp_path / "data"
    write_cifar(root)
    return root


class FileServer:
    """Serves named files on a local port (the downloads' stand-in for the official mirrors); a request
    for any other name gets a 404. `url(name)` is the address of one file."""

    def __init__(self, files: dict[str, bytes]):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                payload = files.get(self.path.rsplit("/", 1)[-1])
                self.send_response(200 if payload is not None else 404)
                self.send_header("Content-Length", str(len(payload or b"")))
                self.end_headers()
                self.wfile.write(payload or b"")

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_port}/files"

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    def close(self):
        self.server.shutdown()
