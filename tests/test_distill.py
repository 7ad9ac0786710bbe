"""Distillation from one image: the KL-at-temperature loss, CutMix, and `monossl distill` end to end."""
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from monossl.cli import main
from monossl.data.mixing import cutmix, cutmix_box
from monossl.losses.distill import kd_loss


def test_kd_loss_is_t_squared_kl_by_hand_and_zero_for_agreeing_logits():
    s, t = torch.tensor([[1.0, 0.0, -1.0], [0.5, 0.5, 2.0]]), torch.tensor([[2.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    for temperature in (1.0, 4.0, 8.0):
        p, q = F.softmax(t / temperature, 1), F.softmax(s / temperature, 1)
        by_hand = temperature ** 2 * float((p * (p.log() - q.log())).sum(1).mean())
        assert float(kd_loss(s, t, temperature)) == pytest.approx(by_hand, rel=1e-4)  # float32 against float32
    assert float(kd_loss(t, t, 8.0)) == pytest.approx(0.0, abs=1e-6)
    assert float(kd_loss(t + 3.0, t, 8.0)) == pytest.approx(0.0, abs=1e-6)  # a constant per row changes nothing
    # T^2 keeps the gradient's scale: for large T it tends to the logits' difference over the classes, not to zero
    s = s.clone().requires_grad_(True)
    kd_loss(s, t, 100.0).backward()
    centred = lambda x: x - x.mean(1, keepdim=True)  # noqa: E731
    assert torch.allclose(s.grad, (centred(s.detach()) - centred(t)) / (3 * len(s)), atol=2e-3)


def test_cutmix_box_area_matches_its_mixing_weight():
    torch.manual_seed(0)
    for lam in (0.1, 0.25, 0.5, 0.75, 0.9):
        top, bottom, left, right = cutmix_box(32, 32, lam, centre=(16, 16))  # room all round: the whole box
        side = round(32 * math.sqrt(1 - lam))
        assert (bottom - top, right - left) == (side, side)
        assert (bottom - top) * (right - left) / 1024 == pytest.approx(1 - lam, abs=2 * side / 1024 + 1e-9)
        for _ in range(20):  # anywhere: inside the image, never larger
            top, bottom, left, right = cutmix_box(32, 32, lam)
            assert 0 <= top <= bottom <= 32 and 0 <= left <= right <= 32 and (bottom - top) * (right - left) <= side ** 2
    images = torch.arange(4.0)[:, None, None, None].expand(4, 3, 32, 32).contiguous()
    mixed, partner, own = cutmix(images, 1.0)
    for i in range(4):
        kept = float((mixed[i] == images[i]).float().mean()) if partner[i] != i else 1.0
        assert kept == pytest.approx(own if partner[i] != i else 1.0)  # `own` is the share that stayed the image's own


@pytest.fixture
def teacher(tiny_cifar, tmp_path):
    run = tmp_path / "teacher"
    assert main(["pretrain", "supervised", "--dataset", "cifar10", "--data-root", str(tiny_cifar), "--epochs", "3",
                 "--batch-size", "20", "--lr", "0.05", "--workers", "0", "--out", str(run)]) == 0
    return run


def distill_args(teacher, tiny_cifar, rgb_image, out, *extra):
    return ["distill", "--teacher", str(teacher), "--source", str(rgb_image), "--count", "256", "--batch-size", "32",
            "--epochs", "3", "--data-root", str(tiny_cifar), "--workers", "0", "--out", str(out), *extra]


@pytest.mark.integration
def test_distillation_raises_agreement_with_the_teacher_and_keeps_a_student(teacher, tiny_cifar, rgb_image, tmp_path, capsys):
    out = tmp_path / "student"
    assert main(distill_args(teacher, tiny_cifar, rgb_image, out, "--lr", "3e-3")) == 0
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    start = next(r for r in records if r["kind"] == "eval")
    last = [r for r in records if r["kind"] == "epoch"][-1]
    assert last["test_agreement"] > start["test_agreement"] + 10  # it learned to imitate, from one image
    assert last["teacher_acc"] == start["teacher_acc"] and "top-1" in capsys.readouterr().err
    assert (out / "classifier.pt").exists() and (out / "trunk.pt").exists()
    assert main(["probe", str(out), "--dataset", "cifar10", "--data-root", str(tiny_cifar), "--epochs", "1",
                 "--out", str(tmp_path / "p.json")]) == 0  # the student's trunk is a trunk like any other


@pytest.mark.integration
def test_a_torchscript_teacher_and_bad_teachers(teacher, tiny_cifar, rgb_image, tmp_path, capsys):
    from monossl.nets.classifier import load_classifier

    model, _ = load_classifier(teacher)
    scripted = tmp_path / "teacher.ts"
    torch.jit.save(torch.jit.trace(model, torch.zeros(1, 3, 32, 32)), str(scripted))
    assert main(distill_args(scripted, tiny_cifar, rgb_image, tmp_path / "ts", "--epochs", "1")) == 0
    capsys.readouterr()
    notes = tmp_path / "notes.txt"
    notes.write_text("not a model")
    folder = tmp_path / "three"
    for split in ("train", "val"):
        for c in "abc":
            (folder / split / c).mkdir(parents=True)
            from PIL import Image

            Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(folder / split / c / "x.png")
    cases = [(distill_args(notes, tiny_cifar, rgb_image, tmp_path / "a"), "not a PyTorch checkpoint"),
             (distill_args(tmp_path / "nothing", tiny_cifar, rgb_image, tmp_path / "b"), "no such classifier"),
             (distill_args(teacher, tiny_cifar, rgb_image, tmp_path / "c", "--eval", f"folder:{folder}/train,{folder}/val"),
              "has 3 classes but the teacher 10"),
             (distill_args(teacher, tiny_cifar, rgb_image, tmp_path / "d", "--arch", "alexnet"), "cannot see 32-px patches"),
             (distill_args(teacher, tiny_cifar, "nowhere.png", tmp_path / "e"), "no such file or folder"),
             (distill_args(teacher, tiny_cifar, rgb_image, tmp_path / "f", "--temperature", "0"), "--temperature 0.0: must be more than 0"),
             (distill_args(teacher, tiny_cifar, rgb_image, tmp_path / "g", "--cutmix", "0.8", "--mixup", "0.5"), "add up to at most 1")]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
        assert not (tmp_path / argv[-1]).exists(), argv  # nothing written


@pytest.mark.integration
def test_curve_of_a_distillation_run_is_the_students_own_accuracy(teacher, tiny_cifar, rgb_image, tmp_path):
    out = tmp_path / "student"
    assert main(distill_args(teacher, tiny_cifar, rgb_image, out)) == 0
    assert main(["curve", str(out), "--data-root", str(tiny_cifar)]) == 0
    curve = json.loads((out / "curve.json").read_text())
    epochs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    logged = [r["test_acc"] for r in epochs if r["kind"] == "epoch"]
    assert [p["top1"]["student"] for p in curve["points"]] == logged and (out / "curve.png").exists()
    assert curve["baseline"] == "untrained student" and curve["random"]["student"] == epochs[0]["test_acc"]


def test_table_d_on_cifar100_reads_the_official_layout(images_dir_d, tmp_path, monkeypatch):
    from conftest import write_cifar
    from monossl.data import cifar

    root = tmp_path / "root"
    write_cifar(root, "cifar100", classes=100, n_train=200, n_test=100)
    monkeypatch.setitem(cifar.SPECS["cifar100"], "counts", (200, 100))
    out = tmp_path / "d100"
    assert main(["reproduce", "distill", "--dataset", "cifar100", "--budget", "smoke", "--out", str(out), "--data-root",
                 str(root), "--images", str(images_dir_d), "--rows", "image_b", "--workers", "0"]) == 0
    results = json.loads((out / "distill-cifar100.json").read_text())
    assert results["rows"]["teacher"]["seeds"]["0"]["classes"] == 100 and "image_b" in results["rows"]
    assert "Table D (ours): distilling a CIFAR-100 classifier" in (out / "distill-cifar100.md").read_text()


@pytest.fixture
def images_dir_d(tmp_path):
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (90, 240, 3), dtype=np.uint8)).save(folder / "image_b.png")
    return folder
