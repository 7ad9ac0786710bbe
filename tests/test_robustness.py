"""Robustness: kill -9 then --resume for every command, two-process DDP, start-up imports, the paper's
images fetched and verified, and bad input across commands (one line, exit 2, nothing left behind)."""
import csv
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from monossl.cli import main
from monossl.nets import load_trunk
from conftest import FileServer

pytestmark = pytest.mark.integration
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def monossl(*args, env=None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "monossl", *map(str, args)], env={**ENV, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def kill_when(process: subprocess.Popen, ready, timeout: float = 120.0) -> None:
    """SIGKILL `process` as soon as `ready()` holds (the command must still be running then)."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the command never reached the kill point"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()


def finished(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return out + err


def test_kill9_generate_then_resume_gives_the_same_bytes(rgb_image, tmp_path):
    args = ["generate", rgb_image, "--size", 16, "--count", 60000]
    finished(monossl(*args, "--out", tmp_path / "full"))
    cut = tmp_path / "cut"
    kill_when(monossl(*args, "--out", cut), lambda: (cut / "progress.json").exists())
    assert not (cut / "meta.json").exists() and not (cut / "patches.npy").exists()  # nothing looks complete
    finished(monossl(*args, "--out", cut, "--resume"))
    assert (cut / "patches.npy").read_bytes() == (tmp_path / "full" / "patches.npy").read_bytes()


def test_kill9_pretrain_then_resume_gives_the_same_trunk(rgb_image, tmp_path):
    args = ["pretrain", "rotnet", "--source", rgb_image, "--count", 256, "--epochs", 3, "--batch-size", 32, "--workers", 0]
    finished(monossl(*args, "--out", tmp_path / "full"))
    cut = tmp_path / "cut"
    kill_when(monossl(*args, "--out", cut), lambda: (cut / "checkpoint.pt").exists())
    assert not (cut / "trunk.pt").exists()
    finished(monossl(*args, "--out", cut, "--resume"))
    full, resumed = load_trunk(tmp_path / "full")[0].state_dict(), load_trunk(cut)[0].state_dict()
    assert all(torch.allclose(full[k].float(), resumed[k].float(), atol=1e-6) for k in full)
    epochs = [json.loads(x)["epoch"] for x in (cut / "metrics.jsonl").read_text().splitlines() if '"epoch"' in x
              and json.loads(x)["kind"] == "epoch"]
    assert epochs == [1, 2, 3]
    assert oct((cut / "trunk.pt").stat().st_mode & 0o777) == "0o644" and not list(cut.rglob(".*.tmp"))


@pytest.mark.parametrize("method,extra", [("simclr", ["--proj-hidden", 32]),
                                          ("dino", ["--out-dim", 64, "--hidden", 32, "--local-crops", 2]),
                                          ("distill", [])])
def test_kill9_joint_embedding_and_distill_then_resume_give_the_same_trunk(method, extra, rgb_image, tmp_path):
    if method == "distill":  # a teacher of a small labelled folder, scored on that folder (no CIFAR in a subprocess)
        for split in ("train", "val"):
            for k, colour in enumerate(((200, 40, 40), (40, 200, 40), (40, 40, 200))):
                (tmp_path / "set" / split / f"c{k}").mkdir(parents=True)
                for i in range(4):
                    Image.fromarray(np.full((36, 36, 3), colour, np.uint8)).save(tmp_path / "set" / split / f"c{k}" / f"{i}.png")
        teacher = tmp_path / "teacher"
        assert main(["pretrain", "supervised", "--folder", str(tmp_path / "set" / "train"), "--epochs", "1",
                     "--batch-size", "4", "--workers", "0", "--out", str(teacher)]) == 0
        extra = ["--teacher", teacher, "--eval", f"folder:{tmp_path / 'set' / 'train'},{tmp_path / 'set' / 'val'}"]
    args = ["pretrain", method, "--source", rgb_image, "--count", 64, "--epochs", 3, "--batch-size", 32, "--workers", 0, *extra]
    finished(monossl(*args, "--out", tmp_path / "full"))
    cut = tmp_path / "cut"
    kill_when(monossl(*args, "--out", cut), lambda: (cut / "checkpoint.pt").exists())
    assert not (cut / "trunk.pt").exists()
    finished(monossl(*args, "--out", cut, "--resume"))
    full, resumed = load_trunk(tmp_path / "full")[0].state_dict(), load_trunk(cut)[0].state_dict()
    assert all(torch.allclose(full[k].float(), resumed[k].float(), atol=1e-6) for k in full), method


def test_kill9_probe_then_resume_gives_the_same_result(shared_cifar10, tmp_path):
    args = ["probe", "random", "--dataset", "cifar10", "--data-root", shared_cifar10, "--train-limit", 1500,
            "--test-limit", 500, "--epochs", 8, "--taps", "conv1,conv2"]
    finished(monossl(*args, "--out", tmp_path / "full.json"))
    cut = tmp_path / "cut.json"
    kill_when(monossl(*args, "--out", cut), lambda: (tmp_path / "cut.json.seed0.state.pt").exists())
    assert not cut.exists()
    finished(monossl(*args, "--out", cut, "--resume"))
    assert json.loads(cut.read_text())["taps"] == json.loads((tmp_path / "full.json").read_text())["taps"]


def test_kill9_reproduce_then_rerun_gives_the_same_table(shared_cifar10, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (90, 240, 3), dtype=np.uint8)).save(images / "image_b.png")
    args = ["reproduce", "table1", "--budget", "smoke", "--data-root", shared_cifar10, "--images", images,
            "--rows", "b,c", "--workers", 0]
    finished(monossl(*args, "--out", tmp_path / "full"))
    cut = tmp_path / "cut"
    kill_when(monossl(*args, "--out", cut), lambda: any((cut / "probes").glob("*.state.pt")) if (cut / "probes").exists() else False)
    finished(monossl(*args, "--out", cut))
    def numbers(folder):  # every cell but the CPU-minutes, which are a measurement of the machine, not a result
        return [{k: v for k, v in row.items() if k != "cpu_minutes"} for row in csv.DictReader((folder / "table1.csv").open())]

    assert numbers(cut) == numbers(tmp_path / "full") and numbers(cut)[3]["conv1_ours"] != ""


@pytest.mark.parametrize("method,extra", [("rotnet", []), ("deepcluster", ["--k", 8, "--hidden", 32]),
                                          ("monogan", ["--gen-dim", 8]), ("bigan", ["--gen-dim", 8, "--disc-dim", 8])])
def test_two_processes_share_the_work_and_agree(method, extra, rgb_image, tmp_path):
    run, trace = tmp_path / method, tmp_path / "trace"
    out = finished(monossl("pretrain", method, "--source", rgb_image, "--count", 128, "--epochs", 2, "--batch-size", 16,
                           "--workers", 0, "--device", "cpu", "--devices", 2, "--out", run, *extra,
                           env={"MONOSSL_TRACE_DIR": str(trace)}))
    assert out.count("trunk written") == 1 and out.count("epoch 2/2") == 1  # rank 0 speaks
    for name in ("config.json", "metrics.jsonl", "checkpoint.pt", "trunk.pt", "trunks/epoch002.pt"):
        assert (run / name).exists(), name
    epochs = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if json.loads(x)["kind"] == "epoch"]
    assert [e["ranks_agree"] for e in epochs] == [1.0, 1.0]
    for epoch in (1, 2):
        a, b = (np.load(trace / f"rank{r}_epoch{epoch:03d}.npy") for r in (0, 1))
        assert len(a) == len(b) == 64
        if method != "deepcluster":  # a disjoint half of the patches each
            assert not set(a.tolist()) & set(b.tolist()) and set(a.tolist()) | set(b.tolist()) == set(range(128))
        else:  # a disjoint half of the epoch's cluster-uniform draw (which repeats members of small clusters)
            from monossl.methods.clustering import uniform_cluster_sampler
            from monossl.seeding import derive_seed

            labels = np.load(run / "clusters" / f"epoch{epoch:03d}.npy")
            order = uniform_cluster_sampler(labels, 128, seed=derive_seed(0, "clusters", epoch - 1))
            assert np.array_equal(order[0::2], a) and np.array_equal(order[1::2], b)


def test_help_and_generate_import_only_what_they_use():
    code = ("import sys; from monossl.cli import build_parser; build_parser(['--help']); "
            "heavy = [m for m in ('torch', 'lightning', 'kornia', 'faiss') if m in sys.modules]; "
            "build_parser(['generate', 'x.png', '--count', '1', '--out', 'o']); "
            "gen = [m for m in ('lightning', 'kornia', 'faiss', 'matplotlib') if m in sys.modules]; print(heavy, gen)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=True).stdout
    assert out.strip() == "[] []"


def test_paper_images_are_fetched_verified_and_cached(tmp_path, monkeypatch):
    from monossl.data import paper_images

    buffer = io.BytesIO()
    Image.fromarray(np.full((30, 80, 3), 120, np.uint8)).save(buffer, format="PNG")
    payload = buffer.getvalue()
    server = FileServer({"animals.png": payload})
    try:
        monkeypatch.delenv("MONOSSL_IMAGES", raising=False)
        monkeypatch.setenv("MONOSSL_IMAGES_URL", server.base)
        monkeypatch.setitem(paper_images.PAPER_IMAGES["image_b"], "sha256", "0" * 64)
        with pytest.raises(paper_images.UserError, match="does not match"):
            paper_images.paper_image("image_b", data_root=tmp_path)
        assert not (tmp_path / "paper-images" / "image_b.png").exists()
        monkeypatch.setitem(paper_images.PAPER_IMAGES["image_b"], "sha256", hashlib.sha256(payload).hexdigest())
        path = paper_images.paper_image("image_b", data_root=tmp_path)
        assert path == tmp_path / "paper-images" / "image_b.png" and path.read_bytes() == payload
    finally:
        server.close()
    assert paper_images.paper_image("image_b", data_root=tmp_path) == path  # cached: no server needed now
    monkeypatch.setenv("MONOSSL_IMAGES_URL", "http://127.0.0.1:9/images")
    code = main(["generate", "paper:image_a", "--count", "4", "--out", str(tmp_path / "g"), "--data-root", str(tmp_path)])
    assert code == 2 and not (tmp_path / "g").exists()


def test_offline_image_fetch_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MONOSSL_IMAGES", raising=False)
    monkeypatch.setenv("MONOSSL_IMAGES_URL", "http://127.0.0.1:9/images")
    assert main(["generate", "paper:image_b", "--count", "4", "--out", str(tmp_path / "g"), "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot download the paper's image_b" in err and "--images" in err


def test_shared_images_match_the_published_checksums(shared_images):
    from monossl.data.paper_images import PAPER_IMAGES, sha256

    for spec in PAPER_IMAGES.values():
        assert sha256(shared_images / spec["file"]) == spec["sha256"]


def write_patch_set(folder: Path, array: np.ndarray) -> Path:
    folder.mkdir(parents=True)
    np.save(folder / "patches.npy", array)
    (folder / "meta.json").write_text(json.dumps({"format": "npy", "count": len(array), "shape": list(array.shape)}))
    return folder


def test_bad_input_across_commands(rgb_image, tiny_cifar, tmp_path, capsys):
    floats = write_patch_set(tmp_path / "floats", np.random.default_rng(0).random((64, 32, 32, 3)))
    truncated = write_patch_set(tmp_path / "trunc", np.zeros((64, 32, 32, 3), np.uint8))
    with open(truncated / "patches.npy", "r+b") as handle:
        handle.truncate(5000)
    labelled = tmp_path / "labelled"
    for c in ("a", "b"):
        (labelled / c).mkdir(parents=True)
        Image.open(rgb_image).save(labelled / c / "x.png")
    Image.open(rgb_image).save(labelled / "stray.png")
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    readonly.chmod(0o555)
    src = ["--source", str(rgb_image), "--count", "64", "--epochs", "1", "--batch-size", "16", "--workers", "0"]
    cases = [
        (["pretrain", "monogan", *src, "--beta1", "zero"], "--beta1 zero: must be a number"),
        (["pretrain", "monogan", *src, "--lr", "nan"], "--lr nan: must be a finite number"),
        (["pretrain", "monogan", *src, "--critic-init", "he"], "--critic-init he: choose deepcluster, wgan-gp"),
        (["pretrain", "monogan", *src, "--lr-decay", "cosine"], "--lr-decay cosine: choose constant, linear"),
        (["pretrain", "rotnet", *src, "--lr", "-0.1"], "--lr -0.1: must be more than 0"),
        (["pretrain", "rotnet", *src, "--lr", "0"], "--lr 0.0: must be more than 0"),
        (["pretrain", "rotnet", *src, "--size", "0"], "--size 0: must be at least 1"),
        (["pretrain", "rotnet", *src, "--workers", "-1"], "--workers -1"),
        (["pretrain", "rotnet", *src, "--batch-size", "0"], "--batch-size 0"),
        (["pretrain", "rotnet", *src, "--batch-size", "128"], "--batch-size 128: 64 training images"),
        (["pretrain", "deepcluster", *src], "--k 1000: more clusters than the 64 training images"),
        (["pretrain", "rotnet", "--patches", str(floats), "--epochs", "1", "--batch-size", "16"], "float64"),
        (["pretrain", "rotnet", "--patches", str(truncated), "--epochs", "1", "--batch-size", "16"], "truncated"),
        (["pretrain", "supervised", "--folder", str(labelled), "--epochs", "1", "--batch-size", "2"], "beside the class folders"),
        (["pretrain", "supervised", *src], "needs labels"),
        (["pretrain", "rotnet", *src, "--arch", "alexnet"], "--arch alexnet: cannot see 32-px patches"),
        *([(["pretrain", "rotnet", *src, "--out", str(readonly / "run")], "not writable")] if os.geteuid() else []),
        (["pretrain", "rotnet", *src, "--resume", "--out", str(tmp_path / "never")], "no interrupted run"),
        (["pretrain", "rotnet", *src, "--config", str(tmp_path / "none.yaml")], "no such file"),
        (["probe", "random", "--dataset", "cifar10", "--data-root", str(tiny_cifar), "--epochs", "0"], "--epochs 0"),
        (["probe", "random", "--dataset", "cifar10", "--data-root", str(tiny_cifar), "--seeds", "0,x"], "--seeds 0,x: each item must be a whole number"),
        (["probe", "random", "--dataset", "cifar10", "--data-root", str(tiny_cifar), "--resume"], "no interrupted probe"),
        (["probe", str(rgb_image), "--dataset", "cifar10", "--data-root", str(tiny_cifar)], "not a PyTorch checkpoint"),
        (["reproduce", "table1", "--rows", "q"], "table1 has rows"),
        (["demo", "--seed", "-1", "--data-root", str(tiny_cifar)], "--seed -1: must be at least 0"),
        (["viz", "filters", str(tmp_path / "nothing"), "--out", str(tmp_path / "f.png")], "no such checkpoint"),
    ]
    for argv, message in cases:
        out = argv[argv.index("--out") + 1] if "--out" in argv else str(tmp_path / "out")
        argv = argv if "--out" in argv else [*argv, "--out", out]
        code = main(argv)
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and message in err, (argv, err)
        assert not Path(out).exists() or out.endswith("out") and not any(Path(out).iterdir()), argv
    readonly.chmod(0o755)


def test_a_full_disk_is_one_line_and_nothing_looks_complete(rgb_image, tmp_path, monkeypatch, capsys):
    import errno

    import monossl.rundir as rundir

    def full_disk(obj, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(rundir.torch, "save", full_disk)
    run = tmp_path / "run"
    code = main(["pretrain", "rotnet", "--source", str(rgb_image), "--count", "64", "--epochs", "1", "--batch-size", "16",
                 "--workers", "0", "--out", str(run)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "no space left on the device" in err and "free some space" in err
    assert not (run / "trunk.pt").exists() and not list(run.rglob("trunks/*.pt")) and not list(run.rglob(".*.tmp"))


def test_refused_run_leaves_nothing_that_blocks_the_fix(tmp_path, rgb_image, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    run = tmp_path / "run"
    args = ["pretrain", "rotnet", "--count", "64", "--epochs", "1", "--batch-size", "16", "--workers", "0", "--out", str(run)]
    assert main([*args, "--source", str(bad)]) == 2
    assert not run.exists()
    assert main([*args, "--source", str(rgb_image)]) == 0


def test_config_file_reruns_a_run_with_overrides(rgb_image, tiny_cifar, tmp_path):
    first = tmp_path / "first"
    assert main(["pretrain", "rotnet", "--source", str(rgb_image), "--count", "64", "--epochs", "1", "--batch-size", "16",
                 "--workers", "0", "--lr", "0.02", "--out", str(first)]) == 0
    second = tmp_path / "second"
    assert main(["pretrain", "rotnet", "--config", str(first / "config.json"), "--out", str(second), "--epochs", "2"]) == 0
    a, b = (json.loads((d / "config.json").read_text()) for d in (first, second))
    assert b["epochs"] == 2 and b["hparams"]["lr"] == 0.02 and b["input"] == a["input"]
    yaml_file = tmp_path / "probe.yaml"  # written flat, like the flags
    yaml_file.write_text(f"augment: none\nnorm: feature\nbn_stats: population\nepochs: 1\ndata_root: {tiny_cifar}\n")
    result = tmp_path / "p.json"
    assert main(["probe", "random", "--dataset", "cifar10", "--config", str(yaml_file), "--out", str(result),
                 "--norm", "channel"]) == 0
    protocol = json.loads(result.read_text())["protocol"]
    assert (protocol["augment"], protocol["norm"], protocol["bn_stats"], protocol["epochs"]) == ("none", "channel", "population", 1)
    again = tmp_path / "again.json"  # a probe result is a config: its protocol, dataset and seeds
    assert main(["probe", "random", "--config", str(result), "--out", str(again), "--data-root", str(tiny_cifar)]) == 0
    assert json.loads(again.read_text())["taps"] == json.loads(result.read_text())["taps"]


def test_csv_logger_writes_beside_metrics(rgb_image, tmp_path):
    run = tmp_path / "run"
    assert main(["pretrain", "rotnet", "--source", str(rgb_image), "--count", "64", "--epochs", "1", "--batch-size", "16",
                 "--workers", "0", "--logger", "csv", "--out", str(run)]) == 0
    logged = list((run / "logs").rglob("metrics.csv"))
    assert logged and "loss" in logged[0].read_text().splitlines()[0]
