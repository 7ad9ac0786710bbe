"""`make demo` / `monossl demo`: the main job on built-in defaults, in about 7 minutes on 2 cores.

1. patches from a built-in image (scikit-image's astronaut photograph, public domain; `--source` takes any);
2. a short RotNet pretraining on them (CIFAR trunk, S = 32);
3. linear probes on CIFAR-10 for the trained and a random trunk (from --data-root, $MONOSSL_DATA, or
   downloaded; without data the probes are skipped with a one-line note and the rest still runs);
4. a report, OUT/report.md: a contact sheet of patches, the conv1 filters, and accuracy against depth
   next to the random trunk and the paper's corresponding row.
"""
from __future__ import annotations

import io
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from monossl.data.inputs import TrainInput
from monossl.data.sampler import AugmentConfig, PatchSampler
from monossl.errors import UserError
from monossl.methods import check, pretrain
from monossl.methods.engine import PretrainConfig
from monossl.probes import PRESETS, run_probe
from monossl.reproduce.paper import TABLE3
from monossl.rundir import atomic_write_bytes, atomic_write_text
from monossl.viz.filters import plot_filters
from monossl.viz.figures import plot_depth
from monossl.viz.grid import save_grid


def builtin_image() -> tuple[np.ndarray, str]:
    from monossl.data.sources import bundled_photo

    return bundled_photo("astronaut"), "scikit-image astronaut (public domain, NASA)"


def run_demo(out: str | Path, data_root: str | None = None, source: str | None = None, epochs: int = 4,
             count: int = 12800, probe_train_limit: int | None = 20000, seed: int = 0, workers: int = 0) -> Path:
    out = Path(out)
    run_dir = out / "rotnet"
    source_file = out / "source.png"
    config = PretrainConfig(method="rotnet", out=str(run_dir), input=TrainInput(sources=(source or str(source_file),), count=count),
                            epochs=epochs, batch_size=128, seed=seed, workers=workers)
    check(config)  # refuse senseless options (0 epochs, fewer patches than a batch...) before anything is written
    if probe_train_limit is not None and probe_train_limit < 2:
        raise UserError(f"probe_train_limit {probe_train_limit}: must be at least 2")
    if source:
        from monossl.data.sources import load_sources

        images, names = load_sources([source])
        name = names[0]
    out.mkdir(parents=True, exist_ok=True)
    if not source:
        image, name = builtin_image()
        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        atomic_write_bytes(source_file, buffer.getvalue())
        images = [image]
    say(f"1/4 patches from {name}")
    sampler = PatchSampler(images, AugmentConfig(size=32), seed=seed)
    save_grid(sampler.patches(np.arange(64)), out / "patches.png", ncol=8, scale=3)

    say(f"2/4 RotNet pretraining, {epochs} epochs of {count} patches")
    pretrain(config, resume=(run_dir / "config.json").exists())
    plot_filters(run_dir, out / "filters.png", title="conv1 filters after RotNet on one image")

    say("3/4 linear probes on CIFAR-10 (trained and random trunk)")
    config = replace(PRESETS["paper"], train_limit=probe_train_limit, seed=seed)
    results = {}
    try:
        for label, spec in (("ours", str(run_dir)), ("random", "random")):
            path = out / f"probe_{label}.json"
            results[label] = run_probe(spec, "cifar10", path, arch="cifar", data_root=data_root, config=config,
                                       resume=True).taps  # re-use, resume, or run
    except UserError as exc:
        say(f"probes skipped: {exc}")

    say("4/4 report")
    write_report(out, name, results)
    return out / "report.md"


def say(message: str) -> None:
    print(f"[demo] {message}", file=sys.stderr, flush=True)


def write_report(out: Path, name: str, results: dict) -> None:
    lines = ["# monossl demo", "", f"Source image: {name}.", "",
             "## Patches (§3.1)", "", "![patches](patches.png)", "",
             "Random crops (area down to 0.1% of the image), rotations up to 35°, flips and colour jitter, "
             "resampled to 32×32 without aliasing.", "",
             "## conv1 filters", "", "![filters](filters.png)", "",
             "Each filter is scaled to (−1, 1). Filters that learned from data drift towards oriented edges and colour "
             "blobs; a random trunk's are speckle.", ""]
    if results:
        plot_results(out / "accuracy.png", results)
        taps = list(results["ours"])
        paper = dict(zip(taps, next(r for r in TABLE3.rows if r.label == "RotNet").paper))
        lines += ["## Linear probes on CIFAR-10", "", "| trunk | " + " | ".join(taps) + " |", "|---|" + "---|" * len(taps)]
        for label in ("ours", "random"):
            lines.append(f"| {label} | " + " | ".join(f"{results[label][t]['top1']:.1f}" for t in taps) + " |")
        lines += ["| paper, RotNet on all CIFAR-10 (Table 3) | " + " | ".join(f"{paper[t]:.1f}" for t in taps) + " |", "",
                  "![accuracy against depth](accuracy.png)", "",
                  "Read it as: the higher the line, the more linearly separable CIFAR-10's classes are in that layer's "
                  "features. A single image beating the random trunk at conv1-conv2 is the paper's point; deeper "
                  "layers need more data.", ""]
    else:
        lines += ["## Linear probes", "", "Skipped: no CIFAR-10 found. Pass --data-root DIR (holding cifar-10-batches-py/) "
                  "or set MONOSSL_DATA.", ""]
    atomic_write_text(out / "report.md", "\n".join(lines))


def plot_results(path: Path, results: dict) -> None:
    taps = list(results["ours"])
    rotnet = next(r for r in TABLE3.rows if r.label == "RotNet").paper
    random = next(r for r in TABLE3.rows if r.label == "Random").paper
    plot_depth(path, taps, [
        dict(label="ours: RotNet, one image", values=[results["ours"][t]["top1"] for t in taps], colour=0),
        dict(label="ours: random trunk", values=[results["random"][t]["top1"] for t in taps], colour=1),
        dict(label="paper: RotNet on all CIFAR-10", values=list(rotnet), colour=0, dashed=True),
        dict(label="paper: random", values=list(random), colour=1, dashed=True),
    ], "CIFAR-10 linear probes against depth", ylabel="CIFAR-10 linear probe top-1 (%)")
