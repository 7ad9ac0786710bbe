"""`make demo` / `monossl demo`: the paper's point on built-in defaults, in under ten minutes on 2 cores.

1. patches from a built-in photograph (scikit-image's astronaut, public domain; `source` takes any spec);
2. MonoGAN on them with the `cpu` budget's recipe (`monossl.reproduce.budgets`), the method that learns most
   per CPU-minute from one image;
3. linear probes on CIFAR-10 of the trained critic and of the same critic at its initialisation (its own
   random trunk), with the demo's shorter protocol (`DEMO_PROBE`; from --data-root, $MONOSSL_DATA, or
   downloaded; without data the probes are skipped with a one-line note and the rest still runs);
4. OUT/report.md: a contact sheet of patches, the conv1 filters of both trunks, accuracy against depth beside
   the paper's Table 1, the margin per layer and the elapsed time.
"""
from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from monossl.errors import UserError

# a quick probe protocol: 20,000 training and all 10,000 test images, 12 epochs (÷5 at 4 and 8); the trained and the
# random critic's numbers move together under it (docs/research/demo.md gives the measurement)
DEMO_PROBE = dict(epochs=12, milestones=(4, 8), train_limit=20_000)
QUICK_PROBE = dict(epochs=1, milestones=(), train_limit=512, test_limit=256)


BUILTIN = "skimage:astronaut"  # scikit-image's astronaut photograph (Eileen Collins, NASA; public domain)


def recipe(quick: bool):
    """The MonoGAN run of the demo: the `cpu` budget's Table 1 (j) recipe, or a tiny one with `quick`."""
    from monossl.reproduce.budgets import BUDGETS

    mb = BUDGETS["cpu"].cifar.methods["monogan"]
    if quick:
        return replace(mb, count=128, epochs=1, hparams={**mb.hparams, "gen_dim": 8})
    return mb


def run_demo(out: str | Path, data_root: str | None = None, source: str | None = None, seed: int = 0, workers: int = 0,
             quick: bool = False) -> Path:
    from monossl.data.inputs import TrainInput
    from monossl.data.sampler import PatchSampler
    from monossl.data.specs import load_sources
    from monossl.methods import check, pretrain
    from monossl.methods.config import PretrainConfig
    from monossl.nets.registry import critic_baseline
    from monossl.probes import PRESETS, run_probe

    start = time.perf_counter()
    out = Path(out)
    run_dir = out / "monogan"
    mb = recipe(quick)
    config = PretrainConfig(method="monogan", out=str(run_dir), input=TrainInput(sources=(source or BUILTIN,),
                            count=mb.count), epochs=mb.epochs, batch_size=mb.batch_size, seed=seed, workers=workers,
                            hparams=dict(mb.hparams))
    check(config)  # refuse what cannot run before anything is written
    images, names = load_sources([source or BUILTIN])
    name = names[0] if source else "scikit-image's astronaut photograph (public domain, NASA)"
    out.mkdir(parents=True, exist_ok=True)
    say(f"1/4 patches from {name}")
    sampler = PatchSampler(images, config.input.augment, seed=seed)
    from monossl.viz.grid import save_grid

    save_grid(sampler.patches(np.arange(64)), out / "patches.png", ncol=8, scale=3)

    say(f"2/4 MonoGAN, {mb.epochs} epochs of {mb.count} patches (the cpu budget's recipe)")
    pretrain(config, resume=(run_dir / "config.json").exists())
    baseline = critic_baseline(config.hparams["critic_init"])
    from monossl.viz.filters import plot_filters

    scores = {"ours": plot_filters(run_dir, out / "filters.png", title="conv1 after MonoGAN on one image"),
              "random": plot_filters(baseline, out / "filters_random.png", title=f"conv1 at init ({baseline})", seed=seed)}

    say("3/4 linear probes on CIFAR-10 (the trained critic and the critic at its init)")
    probe = replace(PRESETS["paper"], seed=seed, **(QUICK_PROBE if quick else DEMO_PROBE))
    results = {}
    try:
        for label, spec in (("ours", str(run_dir)), ("random", baseline)):
            path = out / f"probe_{label}.json"
            results[label] = run_probe(spec, "cifar10", path, arch="cifar", data_root=data_root, config=probe,
                                       resume=True).taps  # re-use, resume, or run
    except UserError as exc:
        say(f"probes skipped: {exc}")
    minutes = (time.perf_counter() - start) / 60
    say("4/4 report")
    write_report(out, name, results, scores, baseline, minutes)
    return out / "report.md"


def say(message: str) -> None:
    print(f"[demo] {message}", file=sys.stderr, flush=True)


def paper_rows() -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Table 1's MonoGAN 'All' row (j) and its random row (b): what the demo's lines are held against."""
    from monossl.reproduce.paper import TABLE1

    rows = {r.key: r for r in TABLE1.rows}
    return rows["j"].paper, rows["b"].paper


def margins(results: dict) -> dict[str, float]:
    return {t: results["ours"][t]["top1"] - results["random"][t]["top1"] for t in results["ours"]}


def write_report(out: Path, name: str, results: dict, scores: dict, baseline: str, minutes: float) -> None:
    from monossl.rundir import atomic_write_text

    lines = ["# monossl demo", "", f"Source image: {name}. Made in {minutes:.1f} minutes.", "",
             "## Patches (§3.1)", "", "![patches](patches.png)", "",
             "Random crops (area down to 0.1% of the image), rotations up to 35°, flips and colour jitter, "
             "resampled to 32×32 without aliasing.", "",
             "## conv1 filters", "", "| after MonoGAN on one image | at initialisation |", "|---|---|",
             "| ![trained](filters.png) | ![random](filters_random.png) |", "",
             f"Each filter is scaled to (−1, 1). Structure (share of energy at periods of 4 px or more): "
             f"{scores['ours']['structure']:.2f} trained, {scores['random']['structure']:.2f} at init.", ""]
    if results:
        plot_results(out / "accuracy.png", results)
        taps = list(results["ours"])
        gains = margins(results)
        j, b = paper_rows()
        lines += ["## Linear probes on CIFAR-10", "",
                  "| trunk | " + " | ".join(taps) + " |", "|---|" + "---|" * len(taps),
                  "| ours: MonoGAN, one image | " + " | ".join(f"{results['ours'][t]['top1']:.1f}" for t in taps) + " |",
                  f"| ours: the same critic at init ({baseline}) | "
                  + " | ".join(f"{results['random'][t]['top1']:.1f}" for t in taps) + " |",
                  "| **margin** | " + " | ".join(f"**{gains[t]:+.1f}**" for t in taps) + " |",
                  "| paper, Table 1 (j) MonoGAN, all augmentations | " + " | ".join(f"{v:.1f}" for v in j) + " |",
                  "| paper, Table 1 (b) random | " + " | ".join(f"{v:.1f}" for v in b) + " |", "",
                  "![accuracy against depth](accuracy.png)", "",
                  "The demo probes on 20,000 of CIFAR-10's training images for 12 epochs to stay short, so both of our "
                  "rows read a few points below the full protocol's (`monossl probe`); the paper trained far longer "
                  "(docs/results/table1.md sets our full-protocol rows beside it).", ""]
    else:
        lines += ["## Linear probes", "", "Skipped: no CIFAR-10 found. Pass --data-root DIR (holding cifar-10-batches-py/) "
                  "or set MONOSSL_DATA.", ""]
    atomic_write_text(out / "report.md", "\n".join(lines))


def plot_results(path: Path, results: dict) -> None:
    from monossl.viz.figures import plot_depth

    taps = list(results["ours"])
    j, b = paper_rows()
    plot_depth(path, taps, [
        dict(label="ours: MonoGAN, one image", values=[results["ours"][t]["top1"] for t in taps], colour=0),
        dict(label="ours: the critic at init", values=[results["random"][t]["top1"] for t in taps], colour=1),
        dict(label="paper: MonoGAN (Table 1 j)", values=list(j), colour=0, dashed=True),
        dict(label="paper: random (Table 1 b)", values=list(b), colour=1, dashed=True),
    ], "CIFAR-10 linear probes against depth", ylabel="CIFAR-10 linear probe top-1 (%)")


def demo_command(options) -> str:
    """`monossl demo`: run it, then print where the report is, the elapsed time and the margin per layer."""
    start = time.perf_counter()
    report = run_demo(options.out, data_root=options.data_root, source=options.source, seed=options.seed,
                      workers=options.workers, quick=options.quick)
    lines = [f"report: {report}", f"elapsed: {(time.perf_counter() - start) / 60:.1f} minutes"]
    from monossl.rundir import read_json

    ours, random = report.parent / "probe_ours.json", report.parent / "probe_random.json"
    if ours.exists() and random.exists():
        gains = margins({"ours": read_json(ours)["taps"], "random": read_json(random)["taps"]})
        lines.append("one image over its random trunk: " + ", ".join(f"{t} {g:+.1f}" for t, g in gains.items()))
    return "\n".join(lines)
