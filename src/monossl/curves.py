"""`monossl curve`: what a run learned against the compute it spent.

Every epoch snapshot of a run (`RUN/trunks/epochNNN.pt`) is probed with the quick protocol (a seeded
10,000 / 5,000 split of CIFAR-10, 10 epochs; `QUICK`), beside the run's random trunk under the same
protocol (the random critic for a MonoGAN run, the Sobel trunk for DeepCluster: `baseline_for`), and
plotted against the CPU-minutes and the images seen that the run's `metrics.jsonl` records for each
epoch. Also recorded per snapshot: the conv1 filter-structure score
(`monossl.viz.filters.structure`). Results live in RUN/curve/ (one JSON per snapshot, named by what
was probed: the snapshot, the dataset, the taps and the protocol (`probe_file`), and re-used when the
command is run again, so a growing run is followed cheaply), RUN/curve.json and RUN/curve.png;
`plot_curves` draws several runs on shared axes (`monossl curve RUN RUN ... --compare PNG`).
Quick-protocol numbers are for comparing snapshots with each other; they read lower than the full
protocol's.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, replace
from pathlib import Path

from monossl.errors import UserError
from monossl.probes import PRESETS, ProbeConfig, run_probe
from monossl.rundir import MetricsLog, write_json

QUICK = replace(PRESETS["paper"], epochs=10, milestones=(4, 7), train_limit=10_000, test_limit=5_000)


def snapshots(run: Path) -> list[tuple[int, Path]]:
    found = sorted((int(m.group(1)), p) for p in (run / "trunks").glob("epoch*.pt")
                   if (m := re.fullmatch(r"epoch(\d+)\.pt", p.name)))
    if not found:
        raise UserError(f"{run}: no trunks/epochNNN.pt snapshots; pass a `monossl pretrain` run folder")
    return found


def probe_file(folder: Path, stem: str, dataset: str, taps: list[str] | None, config: ProbeConfig) -> Path:
    """Where one probe of a curve is kept: `STEM.DATASET[.TAPS][.pHASH].json` (the taps when not all, a hash of
    the protocol when not `QUICK`), so a curve on another dataset, taps or protocol never re-uses another's."""
    def digest(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    parts = [stem, dataset if re.fullmatch(r"[\w-]+", dataset) else f"d{digest(dataset)}"]
    if taps:
        parts.append("+".join(taps))
    if config != QUICK:
        parts.append(f"p{digest(json.dumps(asdict(config), sort_keys=True, default=str))}")
    return folder / (".".join(parts) + ".json")


def trusted_cache(path: Path) -> Path:
    """A cached probe of a curve, removed (so it is probed again) when it is damaged: a cache is rebuilt, never trusted."""
    if path.exists():
        from monossl.probes import read_result

        try:
            read_result(path)
        except UserError:
            import warnings

            warnings.warn(f"{path}: a damaged cached probe; rebuilt", stacklevel=2)
            path.unlink()
    return path


def baseline_for(trunk) -> str:
    """The random trunk a run's snapshots are held against: MonoGAN's critic (no BatchNorm, LeakyReLU)
    against `random-critic` (`random-critic-smooth` when it started from the smooth init), DeepCluster's
    Sobel trunk against `random-sobel`, a trunk that started smooth (RotNet's and DeepCluster's --trunk-init smooth)
    against `random-smooth` (`random-sobel-smooth` behind Sobel), BiGAN's encoder (LeakyReLU, BatchNorm) against
    `random-leaky`, every other trunk against the paper's `random`."""
    from monossl.nets.registry import critic_baseline, trunk_baseline

    config = getattr(trunk, "config", {})
    if config.get("act") == "leaky":
        return "random-leaky" if config.get("batchnorm", True) else critic_baseline(config.get("init", "deepcluster"))
    return trunk_baseline(config.get("init", "deepcluster"), config.get("sobel", False))


def learning_curve(run: str | Path, dataset: str = "cifar10", data_root: str | None = None, every: int = 1,
                   config: ProbeConfig = QUICK, taps: list[str] | None = None) -> dict:
    """Probe every `every`-th snapshot (and the last), and the random trunk; write and return the curve."""
    from monossl.nets.registry import load_trunk
    from monossl.viz.filters import first_conv, structure

    run = Path(run)
    if every < 1:
        raise UserError(f"--every {every}: must be at least 1")
    found = snapshots(run)
    chosen = [(e, p) for i, (e, p) in enumerate(found) if i % every == every - 1 or i == len(found) - 1]
    records = MetricsLog(run / "metrics.jsonl").records()
    epochs = {int(r["epoch"]): r for r in records if r.get("kind") == "epoch"}
    if any(r.get("kind") == "eval" for r in records):  # a distillation run: the student scored itself every epoch
        return student_curve(run, records, {e: p for e, p in chosen})
    folder = run / "curve"
    points = []
    for epoch, path in chosen:
        cached = trusted_cache(probe_file(folder, f"epoch{epoch:03d}", dataset, taps, config))
        result = run_probe(str(path), dataset, cached, data_root=data_root, taps=taps, config=config, resume=True)
        record = epochs.get(epoch, {})
        trunk = load_trunk(path)[0]
        points.append({"epoch": epoch, "cpu_minutes": record.get("cpu_minutes"), "images_seen": record.get("images_seen"),
                       "top1": {t: m["top1"] for t, m in result.taps.items()},
                       **({"knn": {k[4:]: v for k, v in record.items() if k.startswith("knn_")}}
                          if any(k.startswith("knn_") for k in record) else {}),
                       "conv1_structure": structure(first_conv(trunk).weight)["structure"]})
    last, arch = load_trunk(chosen[-1][1])[:2]
    baseline = baseline_for(last)
    random = run_probe(baseline, dataset, trusted_cache(probe_file(folder, baseline, dataset, taps, config)), arch=arch,
                       data_root=data_root, taps=taps, config=config, resume=True)
    curve = {"run": str(run), "dataset": dataset, "protocol": "quick" if config == QUICK else "custom",
             "points": points, "baseline": baseline, "random": {t: m["top1"] for t, m in random.taps.items()}}
    write_json(run / "curve.json", curve)
    plot_curve(curve, run / "curve.png")
    return curve


def student_curve(run: Path, records: list[dict], chosen: dict) -> dict:
    """A distillation run's curve: the student's test top-1 and agreement with the teacher, as its epochs logged
    them (no probe needed), against the untrained student (its epoch-0 record)."""
    from monossl.nets.registry import load_trunk
    from monossl.viz.filters import first_conv, structure

    start = next(r for r in records if r.get("kind") == "eval")
    points = [{"epoch": int(r["epoch"]), "cpu_minutes": r.get("cpu_minutes"), "images_seen": r.get("images_seen"),
               "top1": {"student": r["test_acc"], "agreement": r["test_agreement"]},
               "conv1_structure": structure(first_conv(load_trunk(chosen[int(r["epoch"])])[0]).weight)["structure"]}
              for r in records if r.get("kind") == "epoch" and int(r["epoch"]) in chosen]
    curve = {"run": str(run), "dataset": "the teacher's test set", "protocol": "the student's own",
             "points": points, "baseline": "untrained student",
             "random": {"student": start["test_acc"], "agreement": start["test_agreement"]},
             "teacher": start.get("teacher_acc")}
    write_json(run / "curve.json", curve)
    plot_curve(curve, run / "curve.png")
    return curve


def plot_curve(curve: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from monossl.viz.figures import save_figure

    points = curve["points"]
    taps = list(points[0]["top1"])
    axes_spec = [("cpu_minutes", "CPU-minutes of training"), ("images_seen", "training images seen")]
    axes_spec = [(k, label) for k, label in axes_spec if all(p.get(k) is not None for p in points)] or [("epoch", "epoch")]
    fig, axes = plt.subplots(1, len(axes_spec), figsize=(6 * len(axes_spec), 4), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (key, label) in zip(axes[0], axes_spec):
        xs = [p[key] for p in points]
        for i, tap in enumerate(taps):
            ax.plot(xs, [p["top1"][tap] for p in points], "-o", color=colours[i % len(colours)], label=tap, markersize=3)
            ax.axhline(curve["random"][tap], color=colours[i % len(colours)], linestyle="--", alpha=0.5, linewidth=1)
            knn = [(x, p["knn"][tap]) for x, p in zip(xs, points) if tap in p.get("knn", {})]
            if knn:  # the run's own online kNN (pretrain --knn-every), dotted
                ax.plot(*zip(*knn), ":", color=colours[i % len(colours)], linewidth=1)
        ax.set_xlabel(label)
        ax.set_ylabel(f"{curve['dataset']} linear probe top-1 (%), {curve['protocol']} protocol")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8, title="solid: run (quick probe), dotted: online kNN, dashed: random trunk",
                      title_fontsize=7)
    fig.suptitle(f"learning curve: {Path(curve['run']).name}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)


def plot_curves(curves: list[dict], path: Path, labels: list[str] | None = None) -> None:
    """Several runs' curves on shared axes: one panel per tap, top-1 against CPU-minutes, each run's
    random trunk dashed in its colour."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from monossl.viz.figures import save_figure

    labels = labels or [Path(c["run"]).name for c in curves]
    taps = [t for t in curves[0]["points"][0]["top1"] if all(t in c["points"][0]["top1"] for c in curves)]
    key = "cpu_minutes" if all(p.get("cpu_minutes") is not None for c in curves for p in c["points"]) else "epoch"
    fig, axes = plt.subplots(1, len(taps), figsize=(3.6 * len(taps), 3.4), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, tap in zip(axes[0], taps):
        for i, (curve, label) in enumerate(zip(curves, labels)):
            colour = colours[i % len(colours)]
            ax.plot([p[key] for p in curve["points"]], [p["top1"][tap] for p in curve["points"]], "-o", color=colour,
                    label=label, markersize=3)
            ax.axhline(curve["random"][tap], color=colour, linestyle="--", alpha=0.5, linewidth=1)
        ax.set_title(tap)
        ax.set_xlabel("CPU-minutes of training" if key == "cpu_minutes" else "epoch")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"{curves[0]['dataset']} top-1 (%), {curves[0]['protocol']} protocol")
    axes[0][0].legend(fontsize=7, title="dashed: random trunk", title_fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)


def curve_command(options) -> str:
    """`monossl curve RUN...`: each run's curve, printed, and the runs on shared axes with `compare`."""
    from monossl.viz.common import png_target

    compare = png_target(options.compare) if options.compare else None  # refused before anything is probed
    lines, curves = [], []
    for run in options.runs:
        curve = learning_curve(run, options.dataset, options.data_root, every=options.every, config=QUICK,
                               taps=list(options.taps) or None)
        lines.append(f"{run}:")
        for point in curve["points"]:
            minutes = f"{point['cpu_minutes']:.1f} CPU-min" if point.get("cpu_minutes") is not None else "?"
            lines.append(f"  epoch {point['epoch']:3d} ({minutes}): " + " ".join(f"{t} {v:.1f}" for t, v in point["top1"].items())
                         + f"  conv1 structure {point['conv1_structure']:.2f}")
        lines.append(f"  {curve['baseline']}: " + " ".join(f"{t} {v:.1f}" for t, v in curve["random"].items()))
        lines.append(f"  wrote {Path(run) / 'curve.png'} and curve.json")
        curves.append(curve)
    if compare:
        plot_curves(curves, compare)
        lines.append(f"wrote {compare}")
    return "\n".join(lines)
