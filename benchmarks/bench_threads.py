"""Thread behaviour under load: generation, training and probing, each timed as a whole command
  (a) alone on the machine with one thread (the reference rate),
  (b) alone with the default threads,
  (c) while a second job keeps the machine busy (another `monossl generate`, default threads), with
      monossl's default OMP_WAIT_POLICY=PASSIVE, and
  (d) the same with OMP_WAIT_POLICY=ACTIVE, the OpenMP default before monossl set it (spinning threads).
Goal: (c) at least 80% of (a)'s rate. Prints wall seconds (median of --repeats) and the rates relative to (a).

Run: python benchmarks/bench_threads.py [--image ../shared/images/image_b.png] [--data-root ../shared/data]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def commands(image: str, data_root: str, tmp: Path) -> dict[str, list[str]]:
    return {
        "generate 20,000 patches": ["generate", image, "--size", "32", "--count", "20000", "--out", str(tmp / "g")],
        "pretrain rotnet, 1 epoch of 2,560": ["pretrain", "rotnet", "--source", image, "--count", "2560", "--epochs", "1",
                                              "--workers", "0", "--out", str(tmp / "p")],
        "probe, quick split, 2 epochs": ["probe", "random", "--dataset", "cifar10", "--data-root", data_root, "--epochs", "2",
                                         "--train-limit", "5000", "--test-limit", "2000", "--out", str(tmp / "q.json")],
    }


def run(argv: list[str], env: dict, tmp: Path) -> float:
    for name in ("g", "p", "q.json", "q.md"):
        target = tmp / name
        shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "monossl", *argv], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    root = Path(__file__).resolve().parents[2] / "shared"
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", default=str(root / "images" / "image_b.png"))
    parser.add_argument("--data-root", default=str(root / "data"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY")}
    settings = {"(a) alone, 1 thread": {**base, "OMP_NUM_THREADS": "1"}, "(b) alone, default threads": base,
                "(c) under load, default (PASSIVE)": base, "(d) under load, OMP_WAIT_POLICY=ACTIVE": {**base, "OMP_WAIT_POLICY": "ACTIVE"}}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        print(f"{os.cpu_count()} cores; wall seconds, median of {args.repeats}; rate relative to (a)")
        for label, argv in commands(args.image, args.data_root, tmp).items():
            reference = None
            for setting, env in settings.items():
                load = None
                if "under load" in setting:  # a second job with default threads, restarted until we finish
                    load = subprocess.Popen(["bash", "-c", f"while true; do {sys.executable} -m monossl generate {args.image} "
                                             f"--size 32 --count 200000 --out {tmp}/load_$RANDOM >/dev/null 2>&1; "
                                             f"rm -rf {tmp}/load_*; done"], env={**env}, start_new_session=True)
                    time.sleep(3)
                try:
                    seconds = statistics.median(run(argv, env, tmp) for _ in range(args.repeats))
                finally:
                    if load is not None:
                        os.killpg(load.pid, 9)
                        load.wait()
                        subprocess.run(["bash", "-c", f"rm -rf {tmp}/load_*"])
                reference = reference or seconds
                print(f"{label:38s} {setting:40s} {seconds:7.1f} s   {reference / seconds:5.2f}", flush=True)


if __name__ == "__main__":
    main()
