"""Nothing lost, nothing half-trusted: every file a command reads back, damaged (cut short at several offsets,
emptied, replaced by random bytes), gives one line and exit status 2 (or, for a cache, is rebuilt), never a
traceback, and every finished result around it stays byte for byte."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from monossl.cli import main

pytestmark = pytest.mark.integration


def damaged_copies(data: bytes):
    """(name, bytes): emptied, cut short at three offsets, and random bytes of the same length."""
    rng = np.random.default_rng(0)
    yield "empty", b""
    for frac in (0.1, 0.5, 0.9):
        yield f"cut at {frac:.0%}", data[: max(1, int(len(data) * frac))]
    yield "random bytes", rng.integers(0, 256, max(len(data), 16), dtype=np.uint8).tobytes()


def snapshot(root: Path, skip: Path) -> dict:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and p != skip and not p.name.endswith(".lock")}


@pytest.fixture(scope="module")
def world(tmp_path_factory, rgb_image_module, tiny_cifar_module):
    """One of every kind of output monossl reads back, made once."""
    root = tmp_path_factory.mktemp("world")
    data = str(tiny_cifar_module)
    run = root / "run"
    assert main(["pretrain", "rotnet", "--source", str(rgb_image_module), "--count", "32", "--epochs", "1",
                 "--batch-size", "16", "--workers", "0", "--out", str(run)]) == 0
    half = root / "half"  # an interrupted run: its checkpoint, no trunk yet
    assert main(["pretrain", "rotnet", "--source", str(rgb_image_module), "--count", "32", "--epochs", "1",
                 "--batch-size", "16", "--workers", "0", "--out", str(half)]) == 0
    (half / "trunk.pt").unlink()
    probe = root / "probe.json"
    assert main(["probe", str(run), "--dataset", "cifar10", "--data-root", data, "--epochs", "1", "--out", str(probe)]) == 0
    patches = root / "patches"
    assert main(["generate", str(rgb_image_module), "--count", "64", "--out", str(patches)]) == 0
    teacher = root / "teacher"
    assert main(["pretrain", "supervised", "--dataset", "cifar10", "--data-root", data, "--epochs", "1",
                 "--batch-size", "20", "--workers", "0", "--out", str(teacher)]) == 0
    rep = root / "rep"
    assert main(["reproduce", "table1", "--budget", "smoke", "--rows", "b", "--out", str(rep), "--data-root", data,
                 "--workers", "0"]) == 0
    return {"root": root, "run": run, "half": half, "probe": probe, "patches": patches, "teacher": teacher, "rep": rep,
            "data": data, "image": str(rgb_image_module)}


def cases(w):
    """(the file damaged, the command that reads it, whether a damaged copy may be rebuilt instead of refused)."""
    d, run, half = w["data"], w["run"], w["half"]
    src = ["--source", w["image"], "--count", "32", "--epochs", "1", "--batch-size", "16", "--workers", "0"]
    return [
        (half / "config.json", ["pretrain", "rotnet", *src, "--out", str(half), "--resume"], False),
        (half / "checkpoint.pt", ["pretrain", "rotnet", *src, "--out", str(half), "--resume"], False),
        (half / "metrics.jsonl", ["pretrain", "rotnet", *src, "--out", str(half), "--resume"], True),  # a torn last line is a kill's
        (run / "trunk.pt", ["probe", str(run), "--dataset", "cifar10", "--data-root", d, "--out", str(w["root"] / "p2.json")], False),
        (run / "trunk.pt", ["viz", "filters", str(run), "--out", str(w["root"] / "f.png")], False),
        (w["probe"], ["probe", str(run), "--dataset", "cifar10", "--data-root", d, "--out", str(w["probe"]), "--resume"], False),
        (run / "config.json", ["pretrain", "rotnet", "--config", str(run / "config.json"), "--out", str(w["root"] / "r2")], False),
        (w["patches"] / "meta.json", ["generate", w["image"], "--count", "64", "--out", str(w["patches"]), "--resume"], False),
        (w["patches"] / "meta.json", ["pretrain", "rotnet", "--patches", str(w["patches"]), "--epochs", "1", "--batch-size",
                                      "16", "--out", str(w["root"] / "r3")], False),
        (w["teacher"] / "classifier.pt", ["distill", "--teacher", str(w["teacher"]), *src, "--data-root", d,
                                          "--out", str(w["root"] / "s")], False),
        (w["rep"] / "budget.json", ["reproduce", "table1", "--budget", "smoke", "--rows", "b", "--out", str(w["rep"]),
                                    "--data-root", d, "--workers", "0"], False),
        (w["rep"] / "table1.json", ["reproduce", "table1", "--budget", "smoke", "--rows", "b", "--out", str(w["rep"]),
                                    "--data-root", d, "--workers", "0"], False),
        (w["rep"] / "probes" / "random_cifar.cifar10.json", ["reproduce", "table1", "--budget", "smoke", "--rows", "b",
                                                             "--out", str(w["rep"]), "--data-root", d, "--workers", "0"], False),
    ]


def test_every_damaged_file_is_one_line_and_nothing_finished_is_lost(world, capsys):
    checked = 0
    for target, argv, may_rebuild in cases(world):
        original = target.read_bytes()
        for how, data in damaged_copies(original):
            target.write_bytes(data)
            before = snapshot(world["root"], target)
            capsys.readouterr()
            code = main(argv)
            err = capsys.readouterr().err.strip().splitlines()
            errors = [line for line in err if line.startswith("monossl: error:")]
            if not (may_rebuild and code == 0):
                assert code == 2 and len(errors) == 1 and "Traceback" not in "\n".join(err), (target.name, how, argv[0], err)
                assert target.name in errors[0] or str(target.parent.name) in errors[0], (target.name, how, errors)
            after = snapshot(world["root"], target)
            lost = [p for p in before if p not in after or after[p] != before[p]]
            assert not [p for p in lost if p.parent != target.parent or code == 2], (target.name, how, lost)
            target.write_bytes(original)
            for new in ("p2.json", "f.png", "r2", "r3", "s"):
                path = world["root"] / new
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
            checked += 1
    assert checked == 5 * len(cases(world))


def test_a_damaged_curve_cache_is_rebuilt_not_trusted(world, capsys):
    data = world["data"]
    assert main(["curve", str(world["run"]), "--data-root", data, "--taps", "conv1"]) == 0
    cache = next((world["run"] / "curve").glob("epoch001*.json"))
    good = json.loads(cache.read_text())["taps"]
    cache.write_text('{"taps": ')
    with pytest.warns(UserWarning, match="damaged cached probe; rebuilt"):
        assert main(["curve", str(world["run"]), "--data-root", data, "--taps", "conv1"]) == 0
    assert json.loads(cache.read_text())["taps"] == good


def test_two_writers_on_one_output_the_second_refuses_whatever_the_timing(world, tmp_path, capsys):
    out = tmp_path / "busy"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from monossl.rundir import writer_lock\n"
        "with writer_lock(__import__('pathlib').Path(sys.argv[1])):\n"
        "    print('held', flush=True); time.sleep(60)"), str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        for argv in (["pretrain", "rotnet", "--source", world["image"], "--count", "32", "--epochs", "1", "--batch-size",
                      "16", "--workers", "0", "--out", str(out)],
                     ["generate", world["image"], "--count", "8", "--out", str(out)]):
            assert main(argv) == 2
            assert "another monossl process is writing here" in capsys.readouterr().err
        assert [p.name for p in out.iterdir()] == [".monossl.lock"]  # the holder's folder is left as it was
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    assert main(["generate", world["image"], "--count", "8", "--out", str(out)]) == 0  # a killed holder's lock is gone


def test_a_moved_run_folder_resumes(world, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(world["half"], moved)
    assert main(["pretrain", "rotnet", "--source", world["image"], "--count", "32", "--epochs", "1", "--batch-size", "16",
                 "--workers", "0", "--out", str(moved), "--resume"]) == 0
    assert (moved / "trunk.pt").exists()


def test_launcher_and_precision_are_refused_before_anything_starts(world, tmp_path, capsys):
    base = ["pretrain", "rotnet", "--source", world["image"], "--count", "32", "--epochs", "1", "--out", str(tmp_path / "x")]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK")}
    assert env is not None
    for extra, message in ((["--nodes", "2"], "distributed launcher"), (["--precision", "bogus"], "choose 32-true")):
        assert main([*base, *extra]) == 2
        assert message in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_write_targets_that_are_not_files(world, tmp_path, capsys):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    for argv, message in [(["probe", str(world["run"]), "--dataset", "cifar10", "--data-root", world["data"], "--out",
                            str(folder)], "is a folder"),
                          (["curve", str(world["run"]), "--data-root", world["data"], "--compare", str(folder)], "is a folder"),
                          (["viz", "filters", str(world["run"]), "--out", str(loop / "f.png")], "symbolic-link loop")]:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err


def run_limited(argv, limit_bytes: int) -> subprocess.CompletedProcess:
    """`monossl ARGV` in a process that may write files of at most `limit_bytes` (ulimit -f)."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run([sys.executable, "-m", "monossl", *map(str, argv)], preexec_fn=limit, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_a_file_size_limit_is_one_line_and_leaves_nothing_that_looks_finished(world, tmp_path):
    out = tmp_path / "big"
    done = run_limited(["generate", world["image"], "--count", "4000", "--out", out], 200_000)
    assert done.returncode == 2 and "ulimit -f" in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (out / "meta.json").exists()
    run = tmp_path / "run"
    done = run_limited(["pretrain", "rotnet", "--source", world["image"], "--count", "32", "--epochs", "1", "--batch-size",
                        "16", "--workers", "0", "--out", run], 100_000)  # the checkpoint (~4 MB) cannot be written
    assert done.returncode == 2 and "monossl: error:" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (run / "checkpoint.pt").exists() and not (run / "trunk.pt").exists()


def test_a_full_disk_is_one_line_and_leaves_nothing_that_looks_finished(world, tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root and mount to make a small filesystem")
    try:
        run = disk / "run"
        done = subprocess.run([sys.executable, "-m", "monossl", "pretrain", "rotnet", "--source", world["image"], "--count",
                               "32", "--epochs", "1", "--batch-size", "16", "--workers", "0", "--out", str(run)],
                              capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
        assert done.returncode == 2 and "no space left" in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert not (run / "trunk.pt").exists() and not list(run.rglob(".*.tmp"))
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_resuming_a_finished_probe_with_other_settings_is_refused_and_it_stays(world, capsys):
    probe = world["probe"]
    before = probe.read_bytes()
    base = ["probe", str(world["run"]), "--dataset", "cifar10", "--data-root", world["data"], "--out", str(probe), "--resume"]
    assert main([*base, "--epochs", "1"]) == 0  # the same settings: it is complete, re-used
    assert main([*base, "--epochs", "2"]) == 2
    assert "a finished probe of other settings (epochs)" in capsys.readouterr().err and probe.read_bytes() == before
