"""CIFAR loading and download, `monossl probe` end to end, resume, and bad input."""
import hashlib
import io
import json
import tarfile

import numpy as np
import pytest

from monossl.cli import main
from monossl.data import cifar
from monossl.data.cifar import load_cifar
from monossl.errors import UserError
from monossl.nets import build_trunk, save_trunk
from monossl.probes import ProbeConfig, probe_arrays
from conftest import FileServer, write_cifar


def test_tiny_cifar_loads_with_shapes_and_labels(tiny_cifar):
    train = load_cifar("cifar10", tiny_cifar, train=True)
    assert train.images.shape == (60, 32, 32, 3) and train.images.dtype == np.uint8
    assert train.labels.min() >= 0 and train.labels.max() < 10 and train.num_classes == 10


def test_malformed_data_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(cifar.SPECS["cifar10"], "counts", (60, 30))
    bad = tmp_path / "bad"
    write_cifar(bad, bad_label=True)
    with pytest.raises(UserError, match="labels outside"):
        load_cifar("cifar10", bad)
    missing = tmp_path / "missing"
    (write_cifar(missing) / "data_batch_3").unlink()
    with pytest.raises(UserError, match="missing batch"):
        load_cifar("cifar10", missing)
    junk = tmp_path / "junk"
    (write_cifar(junk) / "test_batch").write_bytes(b"garbage")
    with pytest.raises(UserError, match="malformed"):
        load_cifar("cifar10", junk, train=False)


def fake_archive(tmp_path) -> bytes:
    write_cifar(tmp_path / "src")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    return buffer.getvalue()


def test_download_verifies_checksum_and_extracts(tmp_path, monkeypatch):
    payload = fake_archive(tmp_path)
    monkeypatch.setitem(cifar.SPECS["cifar10"], "counts", (60, 30))
    server = FileServer({"cifar-10-python.tar.gz": payload})
    try:
        monkeypatch.setenv("MONOSSL_CIFAR10_URL", server.url("cifar-10-python.tar.gz"))
        monkeypatch.setitem(cifar.SPECS["cifar10"], "md5", "0" * 32)
        with pytest.raises(UserError, match="checksum"):
            load_cifar("cifar10", tmp_path / "root1")
        assert not (tmp_path / "root1" / "cifar-10-batches-py").exists()
        monkeypatch.setitem(cifar.SPECS["cifar10"], "md5", hashlib.md5(payload).hexdigest())
        data = load_cifar("cifar10", tmp_path / "root2")
        assert data.images.shape == (60, 32, 32, 3)
    finally:
        server.close()


def test_offline_download_fails_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MONOSSL_CIFAR10_URL", "http://127.0.0.1:9/cifar-10-python.tar.gz")
    code = main(["probe", "random", "--arch", "cifar", "--dataset", "cifar10", "--data-root", str(tmp_path / "empty"),
                 "--out", str(tmp_path / "r.json")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "cannot download cifar10" in err and "--data-root" in err
    assert not (tmp_path / "r.json").exists()


def test_probe_cli_writes_json_and_markdown(tiny_cifar, tmp_path):
    out = tmp_path / "res.json"
    assert main(["probe", "random", "--arch", "cifar", "--dataset", "cifar10", "--data-root", str(tiny_cifar),
                 "--epochs", "3", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result["taps"]) == {"conv1", "conv2", "conv3", "conv4"}
    assert result["protocol"]["milestones"] == [5, 15, 25] and result["protocol"]["lr"] == 0.01
    assert 0 <= result["taps"]["conv1"]["top1"] <= result["taps"]["conv1"]["top5"] <= 100
    assert "| linear top-1 |" in out.with_suffix(".md").read_text()


def test_probe_reads_arch_from_checkpoint(tiny_cifar, tmp_path):
    save_trunk(tmp_path / "trunk.pt", build_trunk("cifar"), "cifar")
    assert main(["probe", str(tmp_path), "--dataset", "cifar10", "--data-root", str(tiny_cifar), "--epochs", "1",
                 "--taps", "conv1,conv2", "--out", str(tmp_path / "r.json")]) == 0
    assert set(json.loads((tmp_path / "r.json").read_text())["taps"]) == {"conv1", "conv2"}


def test_probes_learn_a_learnable_task():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 400)
    images = (labels[:, None, None, None] * 60 + rng.integers(0, 30, (400, 32, 32, 3))).astype(np.uint8)
    res, _ = probe_arrays(build_trunk("cifar"), (images[:300], labels[:300]), (images[300:], labels[300:]), 4,
                          config=ProbeConfig(epochs=4))
    assert res["conv1"]["top1"] > 90


def test_killed_probe_resumes_to_the_same_result(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 200)
    images = (labels[:, None, None, None] * 40 + rng.integers(0, 90, (200, 32, 32, 3))).astype(np.uint8)
    args = (build_trunk("cifar"), (images[:150], labels[:150]), (images[150:], labels[150:]), 3)
    config = ProbeConfig(epochs=4, batch_size=32, milestones=(1, 3))
    full, _ = probe_arrays(*args, config=config, state_path=tmp_path / "a.state.pt")

    import monossl.probes.linear as probes_module
    real_save, calls = probes_module.atomic_torch_save, []

    def killed_after_two_epochs(obj, path):
        real_save(obj, path)
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(probes_module, "atomic_torch_save", killed_after_two_epochs)
    with pytest.raises(KeyboardInterrupt):
        probe_arrays(*args, config=config, state_path=tmp_path / "b.state.pt")
    monkeypatch.setattr(probes_module, "atomic_torch_save", real_save)
    resumed, _ = probe_arrays(*args, config=config, state_path=tmp_path / "b.state.pt", resume=True)
    assert resumed == full


def test_probe_bad_input(tiny_cifar, tmp_path, capsys):
    empty = tmp_path / "emptyfolder"
    (empty / "train").mkdir(parents=True)
    (empty / "val").mkdir()
    cases = [
        (["random", "--arch", "cifar", "--taps", "conv1,conv7"], "unknown tap"),
        (["random", "--arch", "alexnet"], "need the cifar trunk"),
        ([str(tmp_path / "nothing.pt"), "--arch", "cifar"], "no such checkpoint"),
        (["random", "--arch", "cifar", "--dataset", f"folder:{empty}/train,{empty}/val"], "no images"),
    ]
    for argv, message in cases:
        dataset = [] if "--dataset" in argv else ["--dataset", "cifar10"]
        code = main(["probe", *argv, *dataset, "--data-root", str(tiny_cifar), "--epochs", "1", "--out", str(tmp_path / "o.json")])
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and message in err, (argv, err)
        assert not (tmp_path / "o.json").exists()


def two_colour_folder(root, train: int = 6, val: int = 3):
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in (("train", train), ("val", val)):
        for k, colour in enumerate([(200, 30, 30), (30, 30, 200)]):
            d = root / split / f"class{k}"
            d.mkdir(parents=True)
            for i in range(n):
                Image.fromarray((np.array(colour) + rng.integers(0, 40, (40, 48, 3))).clip(0, 255).astype(np.uint8)).save(d / f"{i}.png")
    return f"folder:{root}/train,{root}/val"


def test_image_folder_probe_with_ten_crops(tmp_path):
    two_colour_folder(tmp_path)
    out = tmp_path / "f.json"
    assert main(["probe", "random", "--arch", "cifar", "--dataset", f"folder:{tmp_path}/train,{tmp_path}/val",
                 "--epochs", "3", "--workers", "0", "--batch-size", "4", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["taps"]["conv1"]["top1"] == 100.0


def test_centre_folder_views_run_the_trunk_once_per_view_whatever_the_epochs(tmp_path, monkeypatch):
    from monossl.data.folder import ImageFolder, centre_crops
    from monossl.probes import TapFeatures

    dataset = two_colour_folder(tmp_path, train=5, val=4)
    seen = []
    forward = TapFeatures.forward
    monkeypatch.setattr(TapFeatures, "forward", lambda self, x: seen.append(len(x)) or forward(self, x))
    results = {}
    for epochs in (1, 4):
        out = tmp_path / f"c{epochs}.json"
        seen.clear()
        assert main(["probe", "random", "--arch", "cifar", "--dataset", dataset, "--epochs", str(epochs), "--workers", "0",
                     "--batch-size", "4", "--folder-views", "centre", "--out", str(out)]) == 0
        results[epochs] = json.loads(out.read_text())
        assert sum(seen) == 2 * 10 + 8  # each training image and its mirror, each test image: once
    assert results[4]["taps"]["conv1"]["top1"] == 100.0
    assert results[4]["protocol"]["folder_views"] == "centre" and results[4]["protocol"]["bn_stats"] == "population"
    train, val = centre_crops(tmp_path / "train", tmp_path / "val", 32)
    view = ImageFolder(tmp_path / "val", crop=32, train=False, view="centre")
    assert train.images.shape == (10, 32, 32, 3) and val.labels.tolist() == [0] * 4 + [1] * 4
    assert np.array_equal(val.images[5], view[5][0].permute(1, 2, 0).numpy())


def test_kraehenbuehl_probes_a_folder_through_its_centre_crops(tmp_path):
    dataset = two_colour_folder(tmp_path)
    args = ["probe", "kraehenbuehl", "--arch", "cifar", "--dataset", dataset, "--epochs", "1", "--workers", "0",
            "--batch-size", "4"]
    assert main(args + ["--folder-views", "centre", "--out", str(tmp_path / "k.json")]) == 0
    assert json.loads((tmp_path / "k.json").read_text())["protocol"]["trunk_meta"]["init"] == "kraehenbuehl"
    assert main(args + ["--out", str(tmp_path / "t.json")]) == 2  # ten-crop views hold no images in memory


def test_shared_cifar10_loads(shared_cifar10):
    test = load_cifar("cifar10", shared_cifar10, train=False)
    assert test.images.shape == (10000, 32, 32, 3) and np.bincount(test.labels).tolist() == [1000] * 10
