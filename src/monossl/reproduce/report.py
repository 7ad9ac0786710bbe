"""Reports of `monossl reproduce`, rendered from a table's results (`TableResults`, OUT/tableN.json):
OUT/tableN.md (the finished rows, every cell "ours (paper)", ± the spread over seeds where a row ran at
several, a mean-gap column, the training CPU-minutes, then the claims checked against the numbers), OUT/tableN.csv
(every row of the table, with the paper's numbers), OUT/tableN.png (accuracy against depth) and OUT/index.md.
Nothing here reads a rendering back: a report re-written in the same OUT merges the new rows into the results
file, so deleting run folders never deletes published numbers."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from monossl.reproduce.conclusions import CLAIMS, noise_margin
from monossl.reproduce.paper import TABLES, Row, Table
from monossl.reproduce.results import TableResults
from monossl.rundir import atomic_write_text

PAPER_CLASSES = {"cifar10": 10, "cifar100": 100, "imagenet": 1000}
UNJUDGED = {"smoke": "not judged: the smoke budget only checks that the pipeline runs, and is too small to judge"}


def comparable(table: Table, summary: dict) -> bool:
    """Whether our numbers can be set against the paper's: the probe set has the paper's class count."""
    counts = {s["classes"] for s in summary.values() if s.get("classes")}
    return all(c == PAPER_CLASSES.get(table.probe_dataset, c) for c in counts)


def has_paper(table: Table) -> bool:
    """Whether the table has the paper's numbers to set beside ours (our own tables have none)."""
    return any(r.paper for r in table.rows)


def cell(table: Table, row: Row, s: dict | None, column: str, i: int, with_paper: bool) -> str:
    spread = f" ± {s['std'][column]:.1f}" if s is not None and s["n"] > 1 and column in s["std"] else ""
    ours = "–" if s is None or column not in s["mean"] else f"{s['mean'][column]:.1f}{spread}"
    if not has_paper(table) or not with_paper:
        return ours
    return f"{ours} ({row.paper[i]:.1f})" if row.paper else f"{ours} (–)"


def mean_gap(table: Table, row: Row, s: dict | None, with_paper: bool) -> float | None:
    if s is None or row.paper is None or not with_paper or not all(c in s["mean"] for c in table.taps):
        return None
    return sum(s["mean"][t] - p for t, p in zip(table.taps, row.paper)) / len(row.paper)


def render_markdown(table: Table, budget: str, summary: dict, checks: dict | None = None) -> str:
    """The report's Markdown: a table of the finished rows (those in `summary`), notes, the figure, the claims,
    then the measured `checks` (Table S: `monossl rank` against the probes)."""
    with_paper = comparable(table, summary)
    ours_only = not has_paper(table)
    columns = list(table.columns)
    header = (["row", "method"] + columns + ([f"share of the {table.relative[1]}"] if table.relative else [])
              + ([] if ours_only or not with_paper else ["mean gap"]) + ["seeds", "CPU-min"])
    cells_are = "top-1 %" if ours_only else "ours (paper), top-1 %"
    lines = [f"# {table.title}", "", f"Budget: `{budget}`. Cells: {cells_are}; ± the sample standard deviation over seeds "
             "where a row ran at several." + ("" if ours_only or not with_paper else " Gap: ours − paper, averaged over layers.")
             + " CPU-min: training only.", ""]
    if not with_paper:
        counts = sorted({s["classes"] for s in summary.values() if s.get("classes")})
        lines += [f"**Not comparable with the paper:** the probe set has {', '.join(map(str, counts))} classes, not the "
                  f"{PAPER_CLASSES[table.probe_dataset]} of the paper's; the paper's numbers stand in brackets as a reference "
                  "only, and no gap is computed.", ""]
    finished = [r for r in table.rows if r.key in summary]
    if finished:
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in finished:
        s = summary[row.key]
        gap = mean_gap(table, row, s, with_paper)
        label = row.label + (" ¹" if row.note else "")
        minutes = "" if s["minutes"] is None else f"{s['minutes']:.1f}"
        share = relative(table, summary, row.key)
        lines.append(f"| ({row.key}) | {label} | " + " | ".join(cell(table, row, s, c, i, True) for i, c in enumerate(columns))
                     + ("" if not table.relative else f" | {'' if share is None else f'{share:.2f}'}")
                     + ("" if ours_only or not with_paper else f" | {'' if gap is None else f'{gap:+.1f}'}") + f" | {s['n']} | {minutes} |")
    if not finished:
        lines.append("No row has finished yet.")
    waiting = [r for r in table.rows if r.key not in summary]
    if waiting:
        lines += ["", "Not run yet: " + ", ".join(f"({r.key}) {r.label}" for r in waiting) + "."]
    notes: dict[str, list[str]] = {}  # one line a note, naming every row it is on
    for r in finished:
        if r.note:
            notes.setdefault(r.note, []).append(f"({r.key})")
    if notes:
        lines += ["", "¹ Notes:"] + [f"- {', '.join(keys)} {note}" for note, keys in notes.items()]
    if finished:
        what = "accuracy against depth" if table.taps else "test top-1 against CPU-minutes of training"
        lines += ["", f"![{what}]({table.name}.png)"]
    lines += [""] + conclusions_section(table, summary, budget)
    if checks and "rank" in checks:
        lines += rank_section(checks["rank"], table.judged[-1] if not table.taps else "conv2")
    return "\n".join(lines)


def rank_section(check: dict, column: str = "conv2") -> list[str]:
    """`monossl rank`'s score of each trained source against its measured `column` (`monossl.rank.validate`)."""
    what = "conv2 probe" if column == "conv2" else f"{column} top-1"
    lines = ["## `monossl rank` against the measurements", "",
             f"Spearman correlation between `monossl rank`'s score and the {what} over the {check['n']} trained "
             f"sources: **{check['spearman']:+.2f}** (one-sided permutation p = {check['p_value']:.3f}: the share of "
             "random pairings that correlate as well).", "",
             f"| source | rank score | {what} |", "|---|---|---|"]
    for key in sorted(check["scores"], key=lambda k: -check["scores"][k]):
        lines.append(f"| ({key}) | {check['scores'][key]:.4f} | {check['probed'][key]:.1f} |")
    return lines + [""]


def relative(table: Table, summary: dict, key: str) -> float | None:
    """A row's `table.relative` column as a share of the reference row's (Table D: student / teacher top-1)."""
    if not table.relative:
        return None
    column, ref = table.relative
    if key not in summary or ref not in summary or column not in summary[key]["mean"] or not summary[ref]["mean"].get(column):
        return None
    return summary[key]["mean"][column] / summary[ref]["mean"][column]


def render_csv(table: Table, summary: dict) -> str:
    """Every row of the table (those not run have empty cells), with the paper's numbers beside ours."""
    with_paper = comparable(table, summary)
    columns = list(table.columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["row", "method"] + [f"{c}_ours" for c in columns] + [f"{c}_std" for c in columns]
                    + [f"{t}_paper" for t in table.taps] + ([f"{table.relative[0]}_of_{table.relative[1]}"] if table.relative else [])
                    + ["mean_gap", "seeds", "cpu_minutes"])
    for row in table.rows:
        s = summary.get(row.key)
        gap = mean_gap(table, row, s, with_paper)
        minutes = "" if s is None or s["minutes"] is None else f"{s['minutes']:.1f}"
        writer.writerow([row.key, row.label] + [("" if s is None or c not in s["mean"] else f"{s['mean'][c]:.3f}") for c in columns]
                        + [("" if s is None or s["n"] < 2 or c not in s["std"] else f"{s['std'][c]:.3f}") for c in columns]
                        + list(row.paper or [""] * len(table.taps))
                        + ([("" if (r := relative(table, summary, row.key)) is None else f"{r:.4f}")] if table.relative else [])
                        + ["" if gap is None else f"{gap:.2f}", "" if s is None else s["n"], minutes])
    return buffer.getvalue()


def write_report(table: Table, results: TableResults, out: Path) -> None:
    """Write OUT/tableN.{json,md,csv,png} from the table's results."""
    summary = results.summary()
    results.save(out / f"{table.name}.json")
    atomic_write_text(out / f"{table.name}.md", render_markdown(table, results.budget, summary, results.checks))
    atomic_write_text(out / f"{table.name}.csv", render_csv(table, summary))
    if summary and table.taps:
        plot_table(table, summary, out / f"{table.name}.png", comparable(table, summary))
    elif results.checks.get("curves"):
        plot_learning(table, results.checks["curves"], out / f"{table.name}.png")


def conclusions_section(table: Table, summary: dict, budget: str) -> list[str]:
    """The claims for this table, each checked against the numbers above (generated, never typed)."""
    summary = {r.key: summary[r.key] for r in table.rows if r.key in summary}  # in the table's order
    margin, basis = noise_margin(summary, table.judged)
    title = "The paper's claims, checked" if has_paper(table) else "Claims, checked"
    lines = [f"## {title}", ""]
    if budget in UNJUDGED:
        return lines + [f"- **{claim.text}** {UNJUDGED[budget]}." for claim in CLAIMS.get(table.name, ())] + [""]
    lines += [f"A difference counts when it exceeds **{margin:.1f} points** ({basis}); smaller ones are inconclusive.", ""]
    for claim in CLAIMS.get(table.name, ()):
        verdict, evidence = claim.check(summary, table.judged, margin)
        lines.append(f"- **{claim.text}** {verdict}. {evidence}")
    return lines + [""]


def plot_table(table: Table, summary: dict, path: Path, with_paper: bool = True) -> None:
    from monossl.viz.figures import plot_depth

    lines = []
    for i, row in enumerate(r for r in table.rows if r.key in summary):
        if not all(t in summary[row.key]["mean"] for t in table.taps):
            continue
        lines.append(dict(label=f"({row.key}) {row.label}", values=[summary[row.key]["mean"][t] for t in table.taps], colour=i))
        if row.paper and with_paper:
            lines.append(dict(values=list(row.paper), colour=i, dashed=True))
    title = f"{table.title}\nsolid: ours" + (", dashed: paper" if with_paper and has_paper(table) else "")
    plot_depth(path, list(table.taps), lines, title)


def plot_learning(table: Table, curves: dict, path: Path) -> None:
    """Each row's measured column against the CPU-minutes of its training (one seed's run), from `checks["curves"]`:
    {row key: [[cpu_minutes, value], ...]}; rows without training are drawn as horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from monossl.viz.figures import save_figure

    fig, ax = plt.subplots(figsize=(9, 4.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, row in enumerate(r for r in table.rows if r.key in curves):
        points = curves[row.key]
        style = dict(color=colours[i % len(colours)], label=f"({row.key}) {row.label}")
        if len(points) == 1:
            ax.axhline(points[0][1], linestyle="--", linewidth=1, **style)
        else:
            ax.plot([p[0] for p in points], [p[1] for p in points], "-o", markersize=2.5, **style)
    ax.set_xlabel("CPU-minutes of training")
    ax.set_ylabel(f"{table.judged[0]} top-1 (%) on {table.probe_dataset}'s test set")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)  # beside the curves
    ax.set_title(table.title, fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)


def write_index(out: Path) -> None:
    parts = ["# monossl reproduction", ""]
    for name in TABLES:
        if (out / f"{name}.md").exists():
            parts += [(out / f"{name}.md").read_text(), ""]
    atomic_write_text(out / "index.md", "\n".join(parts))
