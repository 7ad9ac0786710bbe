"""`monossl pretrain` end to end on tiny data, then `monossl probe` on the result; resume and NaN handling."""
import json

import pytest
import torch

from monossl.cli import main
from monossl.methods.engine import Run
from monossl.nets import load_trunk

pytestmark = pytest.mark.integration


def kill_after_first_epoch(monkeypatch):
    """Make every run stop (as Ctrl-C would) right after its first epoch's checkpoint; returns the real end_epoch."""
    real_end = Run.end_epoch

    def killed_after_first_epoch(self, epoch, state, **values):
        real_end(self, epoch, state, **values)
        raise KeyboardInterrupt

    monkeypatch.setattr(Run, "end_epoch", killed_after_first_epoch)
    return real_end


def assert_kill_and_resume_match(args, tmp_path, monkeypatch) -> None:
    """`args` run whole (already in tmp_path/full) and killed after its first epoch then resumed (tmp_path/cut) end
    with bit-identical trunks."""
    real_end = kill_after_first_epoch(monkeypatch)
    assert main(args + ["--out", str(tmp_path / "cut")]) == 130
    monkeypatch.setattr(Run, "end_epoch", real_end)
    assert main(args + ["--out", str(tmp_path / "cut"), "--resume"]) == 0
    full, cut = load_trunk(tmp_path / "full")[0].state_dict(), load_trunk(tmp_path / "cut")[0].state_dict()
    assert all(torch.equal(full[k], cut[k]) for k in full)


TINY = ["--count", "96", "--epochs", "1", "--batch-size", "32", "--workers", "0", "--size", "32"]


@pytest.mark.parametrize("method,extra", [("rotnet", []), ("deepcluster", ["--k", "8", "--hidden", "64"]),
                                          ("monogan", ["--gen-dim", "16"]), ("bigan", ["--gen-dim", "16"])])
def test_pretrain_then_probe(method, extra, rgb_image, tiny_cifar, tmp_path):
    run = tmp_path / method
    assert main(["pretrain", method, "--source", str(rgb_image), "--out", str(run), *TINY, *extra]) == 0
    for name in ("config.json", "metrics.jsonl", "checkpoint.pt", "trunk.pt"):
        assert (run / name).exists(), name
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any(r["kind"] == "epoch" for r in records)
    if method in ("monogan", "bigan"):
        assert (run / "samples_e001.png").exists()
    trunk, arch, meta = load_trunk(run)
    assert arch == "cifar" and meta["method"] == method
    out = tmp_path / f"{method}.json"
    assert main(["probe", str(run), "--dataset", "cifar10", "--data-root", str(tiny_cifar), "--epochs", "1",
                 "--out", str(out)]) == 0
    assert set(json.loads(out.read_text())["taps"]) == {"conv1", "conv2", "conv3", "conv4"}


def test_supervised_on_a_dataset(tiny_cifar, tmp_path):
    run = tmp_path / "sup"
    assert main(["pretrain", "supervised", "--dataset", "cifar10", "--data-root", str(tiny_cifar), "--out", str(run),
                 "--epochs", "2", "--batch-size", "16", "--workers", "0"]) == 0
    hparams = json.loads((run / "config.json").read_text())["hparams"]
    assert hparams["momentum"] == 0.9 and hparams["weight_decay"] == 5e-4 and hparams["milestones"] == [0.3, 0.6, 0.8]
    assert hparams["lr"] == 0.01
    assert load_trunk(run)[1] == "cifar"
    epochs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if '"test_acc"' in line]
    assert len(epochs) == 2 and all(0 <= e["test_acc"] <= 100 for e in epochs)


def test_killed_run_resumes_to_the_same_trunk(rgb_image, tmp_path, monkeypatch):
    args = ["pretrain", "rotnet", "--source", str(rgb_image), "--count", "64", "--epochs", "2", "--batch-size", "16",
            "--workers", "0"]
    assert main(args + ["--out", str(tmp_path / "full")]) == 0

    real_end = kill_after_first_epoch(monkeypatch)
    assert main(args + ["--out", str(tmp_path / "cut")]) == 130
    assert not (tmp_path / "cut" / "trunk.pt").exists()
    monkeypatch.setattr(Run, "end_epoch", real_end)
    assert main(args + ["--out", str(tmp_path / "cut")]) == 2  # not empty: needs --resume
    assert main(args + ["--out", str(tmp_path / "cut"), "--resume"]) == 0
    full, cut = load_trunk(tmp_path / "full")[0].state_dict(), load_trunk(tmp_path / "cut")[0].state_dict()
    assert all(torch.allclose(full[k].float(), cut[k].float(), atol=1e-6) for k in full)
    epochs = [json.loads(x)["epoch"] for x in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()
              if json.loads(x)["kind"] == "epoch"]
    assert epochs == [1, 2]


def test_nan_loss_stops_with_a_clear_message(rgb_image, tmp_path, capsys):
    code = main(["pretrain", "rotnet", "--source", str(rgb_image), "--count", "64", "--epochs", "1", "--batch-size", "16",
                 "--workers", "0", "--lr", "1e30", "--out", str(tmp_path / "nan")])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and "became nan" in err.lower() and "--resume" in err


def test_pretrain_bad_input(rgb_image, tmp_path, capsys):
    cases = [
        (["rotnet", "--out", str(tmp_path / "a")], "exactly one input"),
        (["rotnet", "--source", str(rgb_image), "--patches", str(tmp_path), "--out", str(tmp_path / "b")], "exactly one input"),
        (["rotnet", "--source", str(tmp_path / "missing.png"), "--out", str(tmp_path / "c")], "no such file"),
        (["rotnet", "--patches", str(tmp_path), "--out", str(tmp_path / "d")], "not a finished patch set"),
        (["monogan", "--source", str(rgb_image), "--size", "64", "--out", str(tmp_path / "e")], "--size 32"),
    ]
    for argv, message in cases:
        code = main(["pretrain", *argv, "--epochs", "1", "--count", "64", "--batch-size", "16", "--workers", "0"])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and message in err[-1], (argv, err)


def test_same_run_whatever_the_number_of_workers(rgb_image, tmp_path):
    args = ["pretrain", "rotnet", "--source", str(rgb_image), "--count", "64", "--epochs", "1", "--batch-size", "16"]
    assert main(args + ["--workers", "0", "--out", str(tmp_path / "w0")]) == 0
    assert main(args + ["--workers", "2", "--out", str(tmp_path / "w2")]) == 0
    a, b = load_trunk(tmp_path / "w0")[0].state_dict(), load_trunk(tmp_path / "w2")[0].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_endless_deepcluster_labels_describe_the_same_patches(rgb_image, tmp_path, monkeypatch):
    """With fresh patches every epoch, each epoch's pseudo-label must be the cluster of that very patch."""
    import numpy as np

    from monossl.methods import deepcluster

    clustered, trained = [], []
    real_features, real_items = deepcluster.clustering_features, deepcluster.PseudoLabelled.__getitems__

    def recording_features(run, net, data, crop):
        clustered.append({data[i].numpy().tobytes(): i for i in range(len(data))})
        return real_features(run, net, data, crop)

    def recording_items(self, indices):
        items = real_items(self, indices)
        trained.append((len(clustered), [(img.numpy().tobytes(), int(label)) for img, label in items], self.labels.clone()))
        return items

    monkeypatch.setattr(deepcluster, "clustering_features", recording_features)
    monkeypatch.setattr(deepcluster.PseudoLabelled, "__getitems__", recording_items)
    run = tmp_path / "dc"
    assert main(["pretrain", "deepcluster", "--source", str(rgb_image), "--count", "48", "--epochs", "2", "--endless",
                 "--batch-size", "16", "--workers", "0", "--k", "4", "--hidden", "32", "--out", str(run)]) == 0
    assert len(clustered) == 2 and not set(clustered[0]) & set(clustered[1])  # fresh patches in epoch 2
    for epoch, pairs, labels in trained:
        for image, label in pairs:
            assert image in clustered[epoch - 1] and labels[clustered[epoch - 1][image]] == label
    saved = np.load(run / "clusters" / "epoch002.npy")
    assert saved.shape == (48,) and saved.max() < 4


def test_monogan_linear_decay_reaches_zero_and_resumes_exactly(rgb_image, tmp_path, monkeypatch):
    """--lr-decay linear: both optimisers' rate falls per step to (1 - (T-1)/T) * lr at the last of T steps,
    and a run killed after its first epoch resumes onto the same schedule and the same critic."""
    args = ["pretrain", "monogan", "--source", str(rgb_image), "--count", "64", "--epochs", "2", "--batch-size", "16",
            "--workers", "0", "--gen-dim", "8", "--lr", "4e-4", "--lr-decay", "linear", "--critic-steps", "2"]
    assert main(args + ["--out", str(tmp_path / "full")]) == 0
    state = torch.load(tmp_path / "full" / "checkpoint.pt", weights_only=False)
    total = 2 * (64 // 16)
    for opt in ("opt_c", "opt_g"):
        assert state[opt]["param_groups"][0]["lr"] == pytest.approx(4e-4 * (1 - (total - 1) / total))

    assert_kill_and_resume_match(args, tmp_path, monkeypatch)


@pytest.mark.parametrize("method", ["rotnet", "supervised"])
def test_warmup_ramps_per_step_across_epochs_and_resumes_exactly(method, rgb_image, tiny_cifar, tmp_path, monkeypatch):
    """--warmup E: the SGD rate climbs per step as lr * (s + 1) / W over the first W = round(E * steps per epoch)
    steps, across the epoch boundary, then follows the step schedule; a run killed after its first epoch resumes
    onto the same ramp and the same weights."""
    from monossl.methods import classifier

    source = ["--source", str(rgb_image)] if method == "rotnet" else ["--dataset", "cifar10", "--data-root", str(tiny_cifar)]
    args = ["pretrain", method, *source, "--count", "64", "--epochs", "3", "--batch-size", "16", "--workers", "0",
            "--lr", "0.1", "--warmup", "1.5", "--milestones", "0.6"]
    rates = []
    real_rate = classifier.scheduled_lr
    monkeypatch.setattr(f"monossl.methods.{method}.scheduled_lr", lambda *a: rates.append(real_rate(*a)) or rates[-1])
    assert main(args + ["--out", str(tmp_path / "full")]) == 0
    steps = len(rates) // 3
    warm = round(1.5 * steps)
    assert rates[:warm] == pytest.approx([0.1 * (s + 1) / warm for s in range(warm)])
    assert rates[warm:2 * steps] == pytest.approx([0.1] * (2 * steps - warm))
    assert rates[2 * steps:] == pytest.approx([0.1 * 0.2] * steps)  # the 0.6 milestone: epoch round(1.8) = 2, counted from 0

    assert_kill_and_resume_match(args, tmp_path, monkeypatch)


@pytest.mark.parametrize("method,extra", [("rotnet", []), ("deepcluster", ["--k", "8", "--hidden", "32"]),
                                          ("monogan", ["--gen-dim", "8"]), ("bigan", ["--gen-dim", "8", "--disc-dim", "8"])])
def test_bf16_mixed_precision_trains(method, extra, rgb_image, tmp_path):
    """--precision bf16-mixed (Fabric's autocast; on a CPU with AVX512-BF16 a MonoGAN critic step runs ~1.5x faster):
    every method trains to finite weights, MonoGAN's gradient penalty and BiGAN's frozen-D pass included."""
    run = tmp_path / method
    assert main(["pretrain", method, "--source", str(rgb_image), "--count", "64", "--epochs", "1", "--batch-size", "16",
                 "--workers", "0", "--precision", "bf16-mixed", "--out", str(run), *extra]) == 0
    trunk = load_trunk(run)[0]
    assert all(torch.isfinite(v).all() for v in trunk.state_dict().values())


METHOD_ARGS = {"rotnet": ["--milestones", "1"], "supervised": ["--milestones", "1"], "deepcluster": ["--k", "4", "--hidden", "32"],
               "monogan": ["--gen-dim", "8"], "bigan": ["--gen-dim", "8", "--disc-dim", "8"], "distill": [],
}
KILLED = {"simclr", "dino"}  # a cosine over the run's length: tested by a real kill -9 (tests/test_robustness.py)


@pytest.mark.parametrize("method", list(METHOD_ARGS))
def test_every_method_resumes_from_its_own_checkpoint_to_the_same_weights(method, rgb_image, tiny_cifar, tmp_path):
    """A run stopped after epoch 1 and resumed for epoch 2 ends where a straight 2-epoch run ends (every method's
    checkpoint holds what it needs, and loads back: weights only)."""
    from monossl.methods import METHODS

    assert set(METHOD_ARGS) | KILLED == set(METHODS)
    inputs = ["--dataset", "cifar10"] if method == "supervised" else ["--source", str(rgb_image), "--count", "40"]
    extra = list(METHOD_ARGS[method])
    if method == "distill":
        teacher = tmp_path / "teacher"
        assert main(["pretrain", "supervised", "--dataset", "cifar10", "--data-root", str(tiny_cifar), "--epochs", "1",
                     "--batch-size", "20", "--workers", "0", "--out", str(teacher)]) == 0
        extra += ["--teacher", str(teacher)]
    common = ["pretrain", method, *inputs, *extra, "--data-root", str(tiny_cifar), "--batch-size", "20", "--workers", "0"]
    assert main([*common, "--epochs", "2", "--out", str(tmp_path / "straight")]) == 0
    assert main([*common, "--epochs", "1", "--out", str(tmp_path / "stopped")]) == 0
    (tmp_path / "stopped" / "trunk.pt").unlink()  # as if stopped after its first checkpoint
    assert main([*common, "--epochs", "2", "--out", str(tmp_path / "stopped"), "--resume"]) == 0
    a, b = (load_trunk(tmp_path / d)[0].state_dict() for d in ("straight", "stopped"))
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a), method


def test_joint_embedding_options_are_refused_in_one_line(rgb_image, tmp_path, capsys):
    src = ["--source", str(rgb_image), "--count", "64", "--epochs", "1", "--batch-size", "32", "--workers", "0"]
    for argv, message in [(["simclr", "--temperature", "0"], "--temperature 0.0: must be more than 0"),
                          (["dino", "--momentum", "1"], "--momentum 1.0: must be less than 1"),
                          (["dino", "--momentum", "-0.1"], "--momentum -0.1: must be at least 0"),
                          (["dino", "--local-size", "48"], "--local-size 48: local views larger than the 32-px patch"),
                          (["dino", "--global-scale", "0.4"], "--global-scale 0.4: give 2 values")]:
        assert main(["pretrain", argv[0], *src, *argv[1:], "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
        assert not (tmp_path / "x").exists()


def test_the_probe_command_pretrain_prints_runs_as_printed(rgb_image, tiny_cifar, tmp_path, capsys):
    import shlex

    run = tmp_path / "a run"  # a space: the printed command must quote it
    assert main(["pretrain", "rotnet", "--source", str(rgb_image), "--count", "32", "--epochs", "1", "--batch-size", "16",
                 "--workers", "0", "--data-root", str(tiny_cifar), "--out", str(run)]) == 0
    hint = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("probe it with: "))
    argv = shlex.split(hint[len("probe it with: "):])
    assert argv[0] == "monossl" and main([*argv[1:], "--epochs", "1"]) == 0
    assert (run / "probe.json").exists()
