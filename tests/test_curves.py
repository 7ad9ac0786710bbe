"""Learning curves against compute, and the conv1 filter-structure score."""
import json

import pytest
import torch

from monossl.cli import main
from monossl.viz.filters import structure


def test_structure_separates_smooth_filters_from_speckle():
    torch.manual_seed(0)
    noise = torch.randn(64, 3, 7, 7)
    y, x = torch.meshgrid(torch.arange(7.0), torch.arange(7.0), indexing="ij")
    edges = torch.stack([torch.tanh((x - 3) * torch.cos(a) + (y - 3) * torch.sin(a)) for a in torch.linspace(0, 3, 64)])
    edges = edges[:, None].repeat(1, 3, 1, 1) * torch.tensor([1.0, 0.5, -0.3])[:, None, None]
    blobs = torch.exp(-((x - 3) ** 2 + (y - 3) ** 2) / 4)[None, None].repeat(64, 3, 1, 1)
    checker = ((x + y) % 2 * 2 - 1)[None, None].repeat(64, 3, 1, 1)
    random = structure(noise)
    assert random["random"] == pytest.approx(9 / 49) and abs(random["structure"] - 9 / 49) < 0.05
    assert structure(edges)["structure"] > 0.6 and structure(blobs)["structure"] > 0.9
    assert structure(checker)["structure"] < 0.01  # the generator's checkerboard is no structure


def test_curve_probes_snapshots_against_cpu_minutes(rgb_image, tiny_cifar, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["pretrain", "rotnet", "--source", str(rgb_image), "--count", "64", "--epochs", "2", "--batch-size", "16",
                 "--workers", "0", "--out", str(run)]) == 0
    metrics = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    epochs = [m for m in metrics if m["kind"] == "epoch"]
    assert epochs[0]["cpu_minutes"] > 0 and epochs[1]["cpu_minutes"] > epochs[0]["cpu_minutes"]
    assert [m["images_seen"] for m in epochs] == [64, 128]
    assert main(["curve", str(run), "--data-root", str(tiny_cifar), "--taps", "conv1,conv2"]) == 0
    curve = json.loads((run / "curve.json").read_text())
    assert [p["epoch"] for p in curve["points"]] == [1, 2] and set(curve["random"]) == {"conv1", "conv2"}
    assert (run / "curve.png").exists() and "epoch   2" in capsys.readouterr().out
    cached = run / "curve" / "epoch001.cifar10.conv1+conv2.json"
    stamp = cached.stat().st_mtime
    assert main(["curve", str(run), "--data-root", str(tiny_cifar), "--taps", "conv1,conv2"]) == 0
    assert cached.stat().st_mtime == stamp  # finished snapshots are re-used
    assert main(["curve", str(run), "--data-root", str(tiny_cifar), "--taps", "conv3"]) == 0  # other taps: probed anew
    curve = json.loads((run / "curve.json").read_text())
    assert set(curve["random"]) == {"conv3"} and all(set(p["top1"]) == {"conv3"} for p in curve["points"])


def test_curve_probes_are_kept_apart_by_dataset_taps_and_protocol(tmp_path):
    from dataclasses import replace

    from monossl.curves import QUICK, probe_file

    names = {probe_file(tmp_path, "epoch001", d, t, c).name
             for d in ("cifar10", "cifar100", "folder:/a/train,/a/val", "folder:/b/train,/b/val")
             for t in (None, ["conv1"]) for c in (QUICK, replace(QUICK, epochs=3))}
    assert len(names) == 16 and "epoch001.cifar10.json" in names and "epoch001.cifar100.conv1.json" in names
    assert all("/" not in n and "," not in n for n in names)


def test_curves_hold_each_run_against_its_own_random_trunk_and_compare(rgb_image, tiny_cifar, tmp_path, capsys):
    runs = {"monogan": tmp_path / "gan", "rotnet": tmp_path / "rot", "deepcluster": tmp_path / "dc",
            "smooth": tmp_path / "smooth", "rotsmooth": tmp_path / "rotsmooth"}
    extras = {"monogan": ["--gen-dim", "8"], "rotnet": [], "deepcluster": ["--k", "4", "--hidden", "32"],
              "smooth": ["--gen-dim", "8", "--critic-init", "smooth"], "rotsmooth": ["--trunk-init", "smooth"]}
    kinds = {"smooth": "monogan", "rotsmooth": "rotnet"}
    for method, run in runs.items():
        assert main(["pretrain", kinds.get(method, method), "--source", str(rgb_image), "--count", "32", "--epochs", "1", "--batch-size", "16",
                     "--workers", "0", "--out", str(run), *extras[method]]) == 0
    compare = tmp_path / "all.png"
    assert main(["curve", *map(str, runs.values()), "--data-root", str(tiny_cifar), "--taps", "conv1",
                 "--compare", str(compare)]) == 0
    baselines = {m: json.loads((run / "curve.json").read_text())["baseline"] for m, run in runs.items()}
    assert baselines == {"monogan": "random-critic", "rotnet": "random", "deepcluster": "random-sobel",
                         "smooth": "random-critic-smooth", "rotsmooth": "random-smooth"}
    assert compare.stat().st_size > 0 and "random-critic: conv1" in capsys.readouterr().out


def test_online_knn_every_epoch_is_in_the_metrics_and_the_curve(rgb_image, tiny_cifar, tmp_path):
    from monossl.cli import main

    run = tmp_path / "run"
    assert main(["pretrain", "rotnet", "--source", str(rgb_image), "--count", "32", "--epochs", "2", "--batch-size", "16",
                 "--workers", "0", "--knn-every", "1", "--knn-train", "60", "--knn-test", "30", "--data-root", str(tiny_cifar),
                 "--out", str(run)]) == 0
    epochs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if '"epoch"' in line]
    epochs = [r for r in epochs if r["kind"] == "epoch"]
    assert len(epochs) == 2 and all(0 <= r["knn_conv1"] <= 100 and "knn_conv4" in r for r in epochs)
    from monossl.curves import QUICK, learning_curve

    tiny = type(QUICK)(**{**QUICK.__dict__, "train_limit": None, "test_limit": None, "epochs": 1, "milestones": ()})
    curve = learning_curve(run, "cifar10", str(tiny_cifar), config=tiny)
    assert curve["points"][-1]["knn"]["conv1"] == epochs[-1]["knn_conv1"]


def test_each_trunk_is_held_against_the_random_trunk_it_started_from():
    from monossl.curves import baseline_for
    from monossl.nets.registry import build_trunk

    assert baseline_for(build_trunk("alexnet", sobel=True, init="smooth")) == "random-sobel-smooth"
    assert baseline_for(build_trunk("alexnet", sobel=True)) == "random-sobel"
    assert baseline_for(build_trunk("alexnet", init="smooth")) == "random-smooth"
    assert baseline_for(build_trunk("cifar", act="leaky")) == "random-leaky"  # BiGAN's encoder
    assert baseline_for(build_trunk("cifar", act="leaky", batchnorm=False)) == "random-critic"  # MonoGAN's critic
