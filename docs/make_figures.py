"""`make figures`: every figure the README and docs/ show, made again by the code from what was measured.

1. docs/results/*.md, .csv and .png rendered again from docs/results/*.json (`reproduce TABLE --report-only`);
2. the landing figure (docs/figures/landing.png): conv1 of the `cpu` budget's single-image MonoGAN (Table 1 j)
   beside its random critic's, and accuracy against depth from docs/results/table1.json beside the paper;
3. docs/figures/*_trained.png and *_random.png: filters, activation maximisation, top-9 retrieval and style
   transfer of the same trunk against its random critic.
The trunk is Table 1 (j) at the `cpu` budget, seed 0, trained (about 6 CPU-minutes) or re-used from RUNS, an OUT
folder of `monossl reproduce` (default runs/figures). Every figure carries, at its foot, the commit and command
that made it.

Run: python docs/make_figures.py [--runs DIR] [--data-root ../shared/data] [--images ../shared/images]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent


def landing(trunk: str, baseline: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from monossl.reproduce.paper import TABLE1
    from monossl.reproduce.results import TableResults
    from monossl.viz.figures import save_figure
    from monossl.viz.filters import filter_tiles, first_conv, structure
    from monossl.nets.registry import resolve_trunk

    summary = TableResults.load(DOCS / "results" / "table1.json").summary()
    rows = {r.key: r for r in TABLE1.rows}
    fig = plt.figure(figsize=(11, 3.9))
    grid = fig.add_gridspec(1, 3, width_ratios=[1, 1, 1.25])
    for col, (spec, title) in enumerate(((trunk, "conv1 after MonoGAN on Image B"), (baseline, "conv1 at init (random critic)"))):
        weight = first_conv(resolve_trunk(spec)[0]).weight
        tiles = filter_tiles(weight)
        side = int(len(tiles) ** 0.5 + 0.999)
        k = tiles.shape[1]
        sheet = __import__("numpy").ones((side * (k + 1), side * (k + 1), 3))
        for i, tile in enumerate(tiles):
            r, c = divmod(i, side)
            sheet[r * (k + 1):r * (k + 1) + k, c * (k + 1):c * (k + 1) + k] = (tile + 1) / 2
        ax = fig.add_subplot(grid[0, col])
        ax.imshow(sheet, interpolation="nearest")
        ax.set_title(f"{title}\nstructure {structure(weight)['structure']:.2f}", fontsize=9)
        ax.axis("off")
    ax = fig.add_subplot(grid[0, 2])
    taps = list(TABLE1.taps)
    for key, colour in (("a", "C2"), ("j", "C0"), ("rc", "C1"), ("b", "C7")):
        if key not in summary:
            continue
        ax.plot(taps, [summary[key]["mean"][t] for t in taps], "-o", color=colour, label=f"ours: {rows[key].label}")
        if rows[key].paper:
            ax.plot(taps, rows[key].paper, "--", color=colour, alpha=0.6)
    ax.set_ylabel("CIFAR-10 linear probe top-1 (%)")
    ax.set_title("accuracy against depth (dashed: the paper)", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, out, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="runs/figures")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--images", default=None)
    args = parser.parse_args()
    sys.path.insert(0, str(DOCS.parent / "src"))
    from monossl import provenance
    from monossl.api import reproduce
    from monossl.cli import main as cli

    provenance.COMMAND = ["make", "figures"]
    for results in sorted((DOCS / "results").glob("*.json")):
        table = json.loads(results.read_text())["table"]
        name, dataset = (("distill", "cifar100") if table == "distill-cifar100" else (table, "cifar10"))
        reproduce(name, out=str(DOCS / "results"), budget="cpu", report_only=True, dataset=dataset)
    runs = Path(args.runs)
    reproduce("table1", out=str(runs), budget="cpu", rows=["j"], data_root=args.data_root, images=args.images,
                      workers=0)
    trunk, baseline, figures = str(runs / "runs" / "monogan_image_b_fjrs_cifar"), "random-critic-smooth", DOCS / "figures"
    landing(trunk, baseline, figures / "landing.png")
    root = ["--data-root", args.data_root] if args.data_root else []
    for spec, name in ((trunk, "trained"), (baseline, "random")):
        assert cli(["viz", "filters", spec, "--out", str(figures / f"filters_{name}.png")]) == 0
        assert cli(["viz", "actmax", spec, "--layer", "conv2", "--units", "0,1,2,3", "--out",
                    str(figures / f"actmax_conv2_{name}.png")]) == 0
        assert cli(["viz", "retrieval", spec, "--layer", "conv2", "--units", "0,1,2,3", *root, "--out",
                    str(figures / f"retrieval_conv2_{name}.png")]) == 0
    from PIL import Image
    from skimage import data

    Image.fromarray(data.chelsea()).save(figures / "content_chelsea.png")
    Image.fromarray(data.coffee()).save(figures / "style_coffee.png")
    assert cli(["style", str(figures / "content_chelsea.png"), str(figures / "style_coffee.png"), "--features", trunk,
                "--compare", baseline, "--out", str(figures / "style_trained_vs_random.png")]) == 0
    print(f"figures written to {figures} and {DOCS / 'results'}")


if __name__ == "__main__":
    main()
