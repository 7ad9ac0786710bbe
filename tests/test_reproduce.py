"""`monossl reproduce` and `monossl demo` on tiny data: rows run, reports carry ours next to the paper."""
import csv
import json

import numpy as np
import pytest
from PIL import Image

from monossl.cli import main
from monossl.reproduce.paper import TABLES
from monossl.reproduce.runner import BUDGETS

pytestmark = pytest.mark.integration


@pytest.fixture
def images_dir(tmp_path):
    """Stand-ins for the paper's Image A and B (the real ones are never needed by the tests)."""
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (90, 240, 3), dtype=np.uint8)).save(folder / "image_b.png")
    Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(folder / "image_a.jpg")
    return folder


def test_paper_numbers_are_complete():
    for table in TABLES.values():
        for row in table.rows:
            assert row.paper is None or len(row.paper) == len(table.taps), (table.name, row.key)
    assert TABLES["table1"].rows[-1].paper == (68.1, 72.3, 70.8, 63.5)
    assert TABLES["table3"].rows[1].paper == (57.8, 55.5, 54.2, 47.3)
    row = {t: {r.key: r for r in TABLES[t].rows} for t in ("table1", "table3")}
    assert row["table1"]["j"].run_id("cifar") == row["table3"]["e"].run_id("cifar")  # shared MonoGAN run
    assert row["table1"]["rc"].kind == row["table3"]["rc"].kind == "random-critic" and row["table1"]["rc"].paper is None


def test_reproduce_smoke_writes_tables_and_reuses_runs(tiny_cifar, images_dir, tmp_path):
    assert BUDGETS["smoke"].probe_train_limit >= 60  # the tiny set is probed whole
    out = tmp_path / "rep"
    args = ["reproduce", "table1", "--budget", "smoke", "--out", str(out), "--data-root", str(tiny_cifar),
            "--images", str(images_dir), "--rows", "b,rc,c,j", "--workers", "0"]
    assert main(args) == 0
    md = (out / "table1.md").read_text()
    assert "| (j) | All | " in md and "(68.1)" in md and "(57.8)" in md
    rows = list(csv.DictReader((out / "table1.csv").open()))
    assert [r["row"] for r in rows] == ["a", "b", "rc", *"cdefghij"]
    assert rows[1]["conv1_ours"] != "" and rows[0]["conv1_ours"] == ""  # (a) was not run
    assert rows[2]["conv1_ours"] != "" and rows[2]["conv1_paper"] == "" and "| (rc) | Random critic ¹ |" in md
    assert (out / "table1.png").exists() and "table1" in (out / "index.md").read_text()
    config = json.loads((out / "runs" / "monogan_image_b_cifar" / "config.json").read_text())
    augment = config["input"]["augment"]  # config.json holds the training input in one place (TrainInput)
    assert augment == {**augment, "scale": False, "rotation": False, "jitter": False, "flip": False}
    stamp = (out / "probes" / "random_cifar.cifar10.json").stat().st_mtime
    assert main(args) == 0  # finished rows are re-used, not re-run
    assert (out / "probes" / "random_cifar.cifar10.json").stat().st_mtime == stamp


def test_table2_without_imagenet_is_one_line_exit_2(tmp_path, capsys):
    assert main(["reproduce", "table2", "--budget", "smoke", "--out", str(tmp_path / "t2")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--imagenet" in err


def test_unknown_rows_are_rejected(tmp_path, capsys):
    assert main(["reproduce", "table3", "--out", str(tmp_path), "--rows", "z"]) == 2
    assert "table3 has rows a,b,rc,c,d,e" in capsys.readouterr().err


def test_demo_runs_end_to_end_without_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MONOSSL_CIFAR10_URL", "http://127.0.0.1:9/none.tar.gz")
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--data-root", str(tmp_path / "none"), "--epochs", "1", "--count", "128"]) == 0
    for name in ("patches.png", "filters.png", "report.md"):
        assert (out / name).exists(), name
    assert "probes skipped" in capsys.readouterr().err
    assert "Skipped: no CIFAR-10" in (out / "report.md").read_text()


def test_demo_with_data_reports_probes(tiny_cifar, tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--data-root", str(tiny_cifar), "--epochs", "1", "--count", "128"]) == 0
    report = (out / "report.md").read_text()
    assert "| ours |" in report and "| random |" in report and "64.4" in report
    assert (out / "accuracy.png").exists()
