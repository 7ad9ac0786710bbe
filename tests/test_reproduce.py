"""`monossl reproduce` and `monossl demo` on tiny data: rows run, reports carry ours next to the paper."""
import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from monossl.cli import main
from monossl.reproduce.paper import TABLES
from monossl.reproduce.runner import BUDGETS, baseline_spec

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


def test_random_critic_row_is_the_critic_at_the_budgets_own_init():
    rc = {r.key: r for r in TABLES["table1"].rows}["rc"]
    assert BUDGETS["cpu"].cifar.methods["monogan"].hparams["critic_init"] == "smooth"
    assert baseline_spec(rc, BUDGETS["cpu"].cifar) == "random-critic-smooth"
    assert "critic_init" not in BUDGETS["paper"].cifar.methods["monogan"].hparams  # the paper's settings
    assert baseline_spec(rc, BUDGETS["paper"].cifar) == baseline_spec(rc, BUDGETS["smoke"].cifar) == "random-critic"
    assert baseline_spec({r.key: r for r in TABLES["table1"].rows}["b"], BUDGETS["cpu"].cifar) == "random"
    rs = {r.key: r for r in TABLES["table2"].rows}["rs"]  # the random AlexNet RotNet starts from, budget by budget
    assert BUDGETS["cpu"].imagenet.methods["rotnet"].hparams["trunk_init"] == "smooth"
    assert baseline_spec(rs, BUDGETS["cpu"].imagenet) == "random-smooth"
    assert baseline_spec(rs, BUDGETS["paper"].imagenet) == baseline_spec(rs, BUDGETS["smoke"].imagenet) == "random"
    sb = {r.key: r for r in TABLES["table2"].rows}["sb"]  # DeepCluster's: behind Sobel, at its budget's init
    assert baseline_spec(sb, BUDGETS["cpu"].imagenet) == baseline_spec(sb, BUDGETS["paper"].imagenet) == "random-sobel"
    from monossl.reproduce.budgets import MethodBudget, Protocol

    smooth_dc = Protocol({"deepcluster": MethodBudget(100, 1, 8, {"trunk_init": "smooth"})})
    assert baseline_spec(sb, smooth_dc) == "random-sobel-smooth"
    methods = TABLES["methods"]
    assert baseline_spec({r.key: r for r in methods.rows}["sobel"], BUDGETS["cpu"].protocol(methods)) == "random-sobel"


def test_reproduce_smoke_writes_tables_and_reuses_runs(tiny_cifar, images_dir, tmp_path):
    assert BUDGETS["smoke"].cifar.probe_train_limit >= 60  # the tiny set is probed whole
    out = tmp_path / "rep"
    args = ["reproduce", "table1", "--budget", "smoke", "--out", str(out), "--data-root", str(tiny_cifar),
            "--images", str(images_dir), "--rows", "b,rc,c,j", "--workers", "0"]
    assert main(args) == 0
    md = (out / "table1.md").read_text()
    assert "| (j) | All | " in md and "(68.1)" in md and "(57.8)" in md
    rows = list(csv.DictReader((out / "table1.csv").open()))
    assert [r["row"] for r in rows] == ["a", "b", "rc", *"cdefghij"]
    assert rows[-1]["seeds"] == "1" and rows[0]["seeds"] == ""
    assert rows[1]["conv1_ours"] != "" and rows[0]["conv1_ours"] == ""  # (a) was not run
    assert rows[2]["conv1_ours"] != "" and rows[2]["conv1_paper"] == "" and "| (rc) | Random critic ¹ |" in md
    assert (out / "table1.png").exists() and "table1" in (out / "index.md").read_text()
    config = json.loads((out / "runs" / "monogan_image_b_cifar" / "config.json").read_text())
    augment = config["input"]["augment"]  # config.json holds the training input in one place (TrainInput)
    assert augment == {**augment, "scale": False, "rotation": False, "jitter": False, "flip": False}
    stamp = (out / "probes" / "random_cifar.cifar10.json").stat().st_mtime
    assert main(args) == 0  # finished rows are re-used, not re-run
    assert (out / "probes" / "random_cifar.cifar10.json").stat().st_mtime == stamp


def test_report_keeps_published_rows_whose_runs_are_gone(tiny_cifar, images_dir, tmp_path):
    out = tmp_path / "rep"
    common = ["--out", str(out), "--data-root", str(tiny_cifar), "--images", str(images_dir), "--workers", "0"]
    assert main(["reproduce", "table1", "--budget", "smoke", "--rows", "b", *common]) == 0
    before = {r["row"]: r for r in csv.DictReader((out / "table1.csv").open())}
    for probe in (out / "probes").glob("*.json"):
        probe.unlink()  # the run folders are gone; the published report stays
    assert main(["reproduce", "table1", "--budget", "smoke", "--rows", "rc", *common]) == 0
    after = {r["row"]: r for r in csv.DictReader((out / "table1.csv").open())}
    assert after["b"]["conv1_ours"] == before["b"]["conv1_ours"] != "" and after["rc"]["conv1_ours"] != ""
    for probe in (out / "probes").glob("*.json"):
        probe.unlink()
    made = json.loads((out / "table1.json").read_text())
    (out / "table1.json").write_text(json.dumps({**made, "budget": "cpu"}))  # a results file of another budget
    assert main(["reproduce", "table1", "--budget", "smoke", "--rows", "rc", *common]) == 0
    after = {r["row"]: r for r in csv.DictReader((out / "table1.csv").open())}
    assert after["b"]["conv1_ours"] == "" and after["rc"]["conv1_ours"] != ""  # another budget's rows are not mixed in


def test_published_rows_read_back_show_the_same_cells(tmp_path):
    """The results file keeps every seed's numbers: a report rendered again from it prints the same cells, and
    nothing is read back from the Markdown or the CSV."""
    from monossl.reproduce.report import write_report
    from monossl.reproduce.results import TableResults

    table = TABLES["table1"]
    results = TableResults("table1", "cpu", list(table.columns))
    for seed, values in enumerate([(58.31, 56.01, 52.5, 50.4), (58.9, 56.3, 53.2, 50.5)]):
        results.record("b", seed, dict(zip(table.taps, values)), classes=10)
    write_report(table, results, tmp_path)
    row = next(line for line in (tmp_path / "table1.md").read_text().splitlines() if line.startswith("| (b)"))
    assert "56.2 ± 0.2" in row and "50.5 ± 0.1" in row
    (tmp_path / "table1.md").write_text("garbage")
    (tmp_path / "table1.csv").write_text("garbage")
    reread = TableResults.load(tmp_path / "table1.json")
    assert reread.rows == results.rows
    write_report(table, reread, tmp_path)
    assert next(line for line in (tmp_path / "table1.md").read_text().splitlines() if line.startswith("| (b)")) == row


def test_a_damaged_results_file_is_one_line(tmp_path, capsys):
    (tmp_path / "table1.json").write_text('{"format": 1, "rows": ')
    assert main(["reproduce", "table1", "--budget", "smoke", "--out", str(tmp_path), "--report-only"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "table1.json" in err and "delete it" in err


def test_table2_without_imagenet_is_one_line_exit_2(tmp_path, capsys):
    assert main(["reproduce", "table2", "--budget", "smoke", "--out", str(tmp_path / "t2")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--imagenet" in err


def test_an_out_folder_never_mixes_budgets(tiny_cifar, images_dir, tmp_path, capsys):
    out = tmp_path / "rep"
    args = ["reproduce", "table1", "--out", str(out), "--data-root", str(tiny_cifar), "--images", str(images_dir),
            "--rows", "b", "--workers", "0"]
    assert main([*args, "--budget", "smoke"]) == 0
    made = json.loads((out / "budget.json").read_text())
    assert made["name"] == "smoke" and made["cifar.methods.monogan.hparams.gen_dim"] == 16
    before = sorted(p.name for p in out.rglob("*"))
    capsys.readouterr()
    assert main([*args, "--budget", "cpu"]) == 2  # its (b) probe is the smoke budget's: never reported as cpu's
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "made at the smoke budget" in err and "--budget smoke" in err
    (out / "budget.json").write_text(json.dumps({**made, "cifar.probe_epochs": 1}))  # an earlier definition
    assert main([*args, "--budget", "smoke"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "earlier definition of the smoke budget (cifar.probe_epochs changed)" in err
    assert sorted(p.name for p in out.rglob("*")) == before  # refused before anything ran


def test_unknown_rows_are_rejected(tmp_path, capsys):
    assert main(["reproduce", "table3", "--out", str(tmp_path), "--rows", "z"]) == 2
    assert "table3 has rows a,b,rc,c,d,e" in capsys.readouterr().err


def test_demo_runs_end_to_end_without_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MONOSSL_CIFAR10_URL", "http://127.0.0.1:9/none.tar.gz")
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--data-root", str(tmp_path / "none"), "--quick"]) == 0
    for name in ("patches.png", "filters.png", "filters_random.png", "report.md"):
        assert (out / name).exists(), name
    assert "probes skipped" in capsys.readouterr().err
    assert "Skipped: no CIFAR-10" in (out / "report.md").read_text()


def test_demo_with_data_reports_probes_and_the_margin(tiny_cifar, tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--data-root", str(tiny_cifar), "--quick"]) == 0
    report = (out / "report.md").read_text()
    ours, random = (json.loads((out / f"probe_{k}.json").read_text())["taps"] for k in ("ours", "random"))
    gain = ours["conv2"]["top1"] - random["conv2"]["top1"]
    assert "| ours: MonoGAN, one image |" in report and "(random-critic-smooth)" in report and "68.1" in report
    assert f"**{gain:+.1f}**" in report and (out / "accuracy.png").exists()
    printed = capsys.readouterr().out
    assert "elapsed:" in printed and f"conv2 {gain:+.1f}" in printed
    config = json.loads((out / "monogan" / "config.json").read_text())
    assert config["hparams"]["critic_init"] == "smooth" and config["method"] == "monogan"  # the cpu budget's recipe


def test_rows_at_several_seeds_report_mean_and_spread(tiny_cifar, images_dir, tmp_path):
    out = tmp_path / "rep"
    base = ["reproduce", "table1", "--budget", "smoke", "--out", str(out), "--data-root", str(tiny_cifar),
            "--images", str(images_dir), "--workers", "0"]
    assert main(base + ["--rows", "b", "--seeds", "0,1"]) == 0
    assert main(base + ["--rows", "c", "--seeds", "1"]) == 0  # another command: the report gathers both
    probes = sorted(p.name for p in (out / "probes").glob("*.json"))
    assert probes == ["monogan_image_b_cifar_s1.cifar10.json", "random_cifar.cifar10.json", "random_cifar_s1.cifar10.json"]
    assert (out / "runs" / "monogan_image_b_cifar_s1").is_dir()
    assert json.loads((out / "runs" / "monogan_image_b_cifar_s1" / "config.json").read_text())["seed"] == 1
    rows = {r["row"]: r for r in csv.DictReader((out / "table1.csv").open())}
    assert rows["b"]["seeds"] == "2" and rows["b"]["conv1_std"] != "" and rows["c"]["seeds"] == "1"
    seeds = [json.loads((out / "probes" / f"random_cifar{s}.cifar10.json").read_text())["taps"]["conv1"]["top1"]
             for s in ("", "_s1")]
    assert float(rows["b"]["conv1_ours"]) == pytest.approx(sum(seeds) / 2, abs=0.01)
    assert float(rows["b"]["conv1_std"]) == pytest.approx(abs(seeds[0] - seeds[1]) / 2 ** 0.5, abs=0.01)
    epochs = [json.loads(line) for line in (out / "runs" / "monogan_image_b_cifar_s1" / "metrics.jsonl").read_text().splitlines()]
    trained = [r["cpu_minutes"] for r in epochs if r["kind"] == "epoch"][-1]
    assert rows["c"]["cpu_minutes"] == f"{trained:.1f}"  # the run's own training CPU-minutes, not the probe's
    results = json.loads((out / "table1.json").read_text())
    assert set(results["rows"]["b"]["seeds"]) == {"0", "1"} and results["rows"]["c"]["seeds"]["1"]["cpu_minutes"] == trained
    md = (out / "table1.md").read_text()
    assert "## The paper's claims, checked" in md  # the smoke budget names each claim and judges none
    assert "**Without augmentation, one image teaches no more than random weights:** not judged: the smoke budget" in md


def test_table4_downloads_cifar100_in_the_official_layout(images_dir, tmp_path, monkeypatch):
    import hashlib
    import io
    import tarfile

    from conftest import FileServer, write_cifar
    from monossl.data import cifar

    write_cifar(tmp_path / "src", "cifar100", classes=100)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-100-python", arcname="cifar-100-python")
    payload = buffer.getvalue()
    monkeypatch.setitem(cifar.SPECS["cifar100"], "counts", (60, 30))
    server = FileServer({"cifar-100-python.tar.gz": payload})
    try:
        monkeypatch.setenv("MONOSSL_CIFAR100_URL", server.url("cifar-100-python.tar.gz"))
        args = ["reproduce", "table4", "--budget", "smoke", "--out", str(tmp_path / "t4"), "--data-root", str(tmp_path / "root"),
                "--images", str(images_dir), "--rows", "b,f", "--workers", "0"]
        assert main(args) == 2  # the published checksum refuses our synthetic archive
        assert not (tmp_path / "root" / "cifar-100-python").exists()
        monkeypatch.setitem(cifar.SPECS["cifar100"], "md5", hashlib.md5(payload).hexdigest())
        assert main(args) == 0
    finally:
        server.close()
    assert (tmp_path / "root" / "cifar-100-python" / "train").exists()
    result = json.loads((tmp_path / "t4" / "probes" / "random_cifar.cifar100.json").read_text())
    assert result["protocol"]["classes"] == 100 and result["dataset"] == "cifar100"
    md = (tmp_path / "t4" / "table4.md").read_text()
    assert "| (f) | MonoGAN |" in md and "(39.9)" in md


def imagenet_like(root, classes=10, train=6, val=2):
    rng = np.random.default_rng(0)
    for split, n in (("train", train), ("val", val)):
        for k in range(classes):
            folder = root / split / f"n{k:08d}"
            folder.mkdir(parents=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 255, (70, 90, 3), dtype=np.uint8)).save(folder / f"{i}.JPEG")
    return root


def test_table2_on_a_ten_class_folder_shows_no_gap_to_the_paper(images_dir, tmp_path):
    root = imagenet_like(tmp_path / "imagenet")
    out = tmp_path / "t2"
    assert main(["reproduce", "table2", "--budget", "smoke", "--out", str(out), "--imagenet", str(root),
                 "--images", str(images_dir), "--rows", "b", "--workers", "0"]) == 0
    md = (out / "table2.md").read_text()
    assert "Not comparable with the paper" in md and "10 classes" in md
    assert "| (b) | Random | " in md and "(11.6)" in md and "mean gap" not in md  # the paper's as a reference only
    row = next(r for r in csv.DictReader((out / "table2.csv").open()) if r["row"] == "b")
    assert row["mean_gap"] == "" and row["conv5_ours"] != ""
    probe = json.loads((out / "probes" / "random_alexnet.imagenet.json").read_text())
    assert probe["protocol"]["crop"] == BUDGETS["smoke"].imagenet.probe_crop == 112
    assert probe["protocol"]["train_limit"] == BUDGETS["smoke"].imagenet.probe_train_limit


def test_cpu_budget_for_table2_is_a_documented_stand_in():
    import monossl.reproduce.budgets as budgets

    cpu = BUDGETS["cpu"].imagenet
    assert cpu.probe_crop == 112 and cpu.size == 128 and cpu.probe_folder_views == "centre"
    assert cpu.probe_train_limit is None and cpu.probe_test_limit is None  # every image: differences of 1.5 resolvable
    page = Path(budgets.__file__).parents[3] / "docs" / "research" / "table2.md"
    assert page.relative_to(page.parents[2]).as_posix() in Path(budgets.__file__).read_text() and page.exists()
    assert set(cpu.methods) >= {"rotnet", "deepcluster", "bigan", "supervised"}
    assert BUDGETS["paper"].imagenet.size == 256 and BUDGETS["paper"].imagenet.probe_crop is None


def test_sources_table_runs_synthetic_and_bundled_photos(tiny_cifar, images_dir, tmp_path):
    out = tmp_path / "s"
    assert main(["reproduce", "sources", "--budget", "smoke", "--out", str(out), "--data-root", str(tiny_cifar),
                 "--images", str(images_dir), "--rows", "critic,deadleaves,astronaut,noise", "--workers", "0"]) == 0
    config = json.loads((out / "runs" / "monogan_synthetic-deadleaves_fjrs_cifar" / "config.json").read_text())
    assert config["input"]["sources"] == ["synthetic:deadleaves"]
    md = (out / "sources.md").read_text()
    assert "| (astronaut) | Photo: astronaut ¹ |" in md and "## Claims, checked" in md and "mean gap" not in md
    assert "**A natural image beats every synthetic source at conv1–conv3:**" in md
    assert "## `monossl rank` against the measurements" in md and "over the 3 trained sources" in md


def test_whole_dataset_rows_see_as_many_images_as_single_image_rows():
    from monossl.data.inputs import TrainInput
    from monossl.reproduce.runner import MethodBudget, epochs_for

    cifar = TrainInput(dataset="cifar10")
    assert epochs_for(MethodBudget(25600, 5, 128), cifar, "rotnet") == 3  # 128,000 images: 2.56 passes of 50,000
    assert epochs_for(MethodBudget(12800, 2, 32), cifar, "monogan") == 1  # at least one pass
    assert epochs_for(MethodBudget(12800, 2, 32), TrainInput(sources=("x.png",), count=12800), "monogan") == 2
    assert epochs_for(MethodBudget(0, 10, 128), cifar, "supervised") == 10


def test_table2_cpu_budget_probes_a_small_folder_with_its_limits(images_dir, tmp_path):
    root = imagenet_like(tmp_path / "imagenet", classes=3, train=4, val=2)
    out = tmp_path / "t2cpu"
    assert main(["reproduce", "table2", "--budget", "cpu", "--out", str(out), "--imagenet", str(root),
                 "--images", str(images_dir), "--rows", "b,rs", "--workers", "0"]) == 0
    start = json.loads((out / "probes" / "random-start_alexnet.imagenet.json").read_text())
    assert start["protocol"]["trunk_meta"]["init"] == "random-smooth"
    probe = json.loads((out / "probes" / "random_alexnet.imagenet.json").read_text())
    assert probe["protocol"]["epochs"] == 36 and probe["protocol"]["crop"] == 112 and probe["protocol"]["classes"] == 3
    assert len(probe["curves"]["0"]) == 36
    assert "Not comparable with the paper" in (out / "table2.md").read_text()


def test_published_index_gathers_the_published_tables(tmp_path):
    """docs/results/index.md is what `write_index` makes of the published tables (it goes stale when a row is
    merged into one table's report and the index is not rebuilt)."""
    import shutil
    from pathlib import Path

    from monossl.reproduce.report import write_index

    published = Path(__file__).resolve().parents[1] / "docs" / "results"
    for name in TABLES:
        if (published / f"{name}.md").exists():
            shutil.copy(published / f"{name}.md", tmp_path)
    write_index(tmp_path)
    assert (published / "index.md").read_text() == (tmp_path / "index.md").read_text()


def test_published_reports_are_rendered_from_their_results_files(tmp_path):
    """docs/results/tableN.md and .csv are what the renderer makes of docs/results/tableN.json (`make figures`)."""
    from pathlib import Path

    from monossl.reproduce.paper import TABLES
    from monossl.reproduce.report import render_csv, render_markdown
    from monossl.reproduce.results import TableResults

    published = Path(__file__).resolve().parents[1] / "docs" / "results"
    for path in sorted(published.glob("*.json")):
        results = TableResults.load(path)
        table = TABLES[results.table]
        assert render_markdown(table, results.budget, results.summary(), results.checks) == (published / f"{table.name}.md").read_text()
        assert render_csv(table, results.summary()) == (published / f"{table.name}.csv").read_bytes().decode()


def test_table_d_distils_from_the_teacher_it_trains_and_reports_shares(tiny_cifar, images_dir, tmp_path):
    out = tmp_path / "d"
    assert main(["reproduce", "distill", "--budget", "smoke", "--out", str(out), "--data-root", str(tiny_cifar),
                 "--images", str(images_dir), "--rows", "image_b,gaussian", "--workers", "0"]) == 0
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert runs == ["distill_gaussian-noise_cifar", "distill_image_b_fjrs_cifar", "supervised_cifar10_cifar"]  # the teacher ran first
    config = json.loads((out / "runs" / "distill_image_b_fjrs_cifar" / "config.json").read_text())
    assert config["hparams"]["teacher"] == str((out / "runs" / "supervised_cifar10_cifar").resolve())
    results = json.loads((out / "distill.json").read_text())
    assert set(results["rows"]) == {"teacher", "image_b", "gaussian"}
    teacher = results["rows"]["teacher"]["seeds"]["0"]["top1"]
    student = results["rows"]["image_b"]["seeds"]["0"]["top1"]
    assert teacher["agreement"] == 100.0 and 0 <= student["student"] <= 100
    md = (out / "distill.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| (image_b)"))
    assert f"{student['student'] / teacher['student']:.2f}" in row and "share of the teacher" in md
    assert "Not run yet: (dataset)" in md and (out / "distill.png").exists() and "curves" in results["checks"]
    # a later run in an OUT whose earlier run folders are gone keeps their published learning curves
    curves = results["checks"]["curves"]
    shutil.rmtree(out / "runs" / "distill_gaussian-noise_cifar")
    assert main(["reproduce", "distill", "--budget", "smoke", "--out", str(out), "--data-root", str(tiny_cifar),
                 "--images", str(images_dir), "--rows", "image_b", "--workers", "0"]) == 0
    assert json.loads((out / "distill.json").read_text())["checks"]["curves"] == curves


def test_table_m_trains_each_method_under_its_own_budget_and_probes_linear_and_knn(tiny_cifar, images_dir, tmp_path):
    out = tmp_path / "m"
    assert main(["reproduce", "methods", "--budget", "smoke", "--out", str(out), "--data-root", str(tiny_cifar),
                 "--images", str(images_dir), "--rows", "random,simclr,dino", "--workers", "0"]) == 0
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["dino_image_b_fjrs_cifar_methods",
                                                               "simclr_image_b_fjrs_cifar_methods"]
    probe = json.loads((out / "probes" / "simclr_image_b_fjrs_cifar_methods.cifar10.json").read_text())
    assert all({"top1", "knn_top1"} <= set(probe["taps"][t]) for t in ("conv1", "conv2", "conv3", "conv4"))
    cells = json.loads((out / "methods.json").read_text())["rows"]["dino"]["seeds"]["0"]["top1"]
    assert set(cells) == {f"{k}conv{i}" for k in ("", "knn_") for i in range(1, 5)}
    assert cells["knn_conv2"] == json.loads((out / "probes" / "dino_image_b_fjrs_cifar_methods.cifar10.json").read_text()
                                            )["taps"]["conv2"]["knn_top1"]
    md = (out / "methods.md").read_text()
    assert "| knn_conv1 |" in md and "Not run yet: (supervised)" in md
    assert "**Every method learns from one image: each beats its own random trunk:** not judged" in md
    budget = json.loads((out / "budget.json").read_text())
    assert budget["methods.methods.dino.hparams.local_crops"] == 2 and not any(k.startswith("cifar.") for k in budget)


def test_table_m_has_a_budget_for_every_method_it_trains():
    from monossl.reproduce.paper import METHODS

    trained = {r.method for r in METHODS.rows if r.kind == "pretrain"}
    for name in ("smoke", "cpu", "paper"):
        assert trained <= set(BUDGETS[name].protocol(METHODS).methods), name
    assert BUDGETS["cpu"].protocol(METHODS).methods["supervised"].epochs < BUDGETS["cpu"].cifar.methods["supervised"].epochs
