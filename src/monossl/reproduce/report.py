"""Reports of `monossl reproduce`: OUT/tableN.md and .csv (every cell "ours (paper)", ± the spread over
seeds where a row ran at several, a mean-gap column, the training CPU-minutes), OUT/tableN.png
(accuracy against depth), the paper's claims checked against the numbers, and OUT/index.md.
A report re-written in the same OUT at the same budget keeps the rows of the previous one whose probe
results are no longer under OUT (`published`): deleting run folders never deletes published numbers."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from monossl.reproduce.conclusions import CLAIMS, noise_margin
from monossl.reproduce.paper import TABLES, Row, Table
from monossl.rundir import atomic_write_text
from monossl.viz.figures import plot_depth

if TYPE_CHECKING:
    from monossl.reproduce.runner import Budget

PAPER_CLASSES = {"cifar10": 10, "cifar100": 100, "imagenet": 1000}


def summarise(found: dict, taps: tuple[str, ...]) -> dict[str, dict]:
    """Row key -> {"mean": {tap: top-1}, "std": {tap: sample std, 0 for one seed}, "n": seeds, "minutes": mean CPU-min}."""
    rows = {}
    for key, entry in found.items():
        per_seed = list(entry["seeds"].values())
        values = {t: np.array([s[t]["top1"] for s in per_seed], dtype=np.float64) for t in taps}
        rows[key] = {"mean": {t: float(v.mean()) for t, v in values.items()},
                     "std": {t: float(v.std(ddof=1)) if len(v) > 1 else 0.0 for t, v in values.items()},
                     "n": len(per_seed), "classes": entry.get("classes"),
                     "minutes": float(np.mean(entry["cpu_minutes"])) if entry.get("cpu_minutes") else None}
    return rows


def published(table: Table, budget_name: str, out: Path) -> dict[str, dict]:
    """The rows of the report already in OUT (tableN.csv), as `summarise` gives them, when that report
    was made at the same budget; {} otherwise. Their class count is not recorded (None)."""
    md, path = out / f"{table.name}.md", out / f"{table.name}.csv"
    if not (md.exists() and path.exists()) or f"Budget: `{budget_name}`." not in md.read_text():
        return {}
    rows = {}
    for record in csv.DictReader(io.StringIO(path.read_text())):
        if not record.get(f"{table.taps[0]}_ours"):
            continue
        rows[record["row"]] = {
            "mean": {t: float(record[f"{t}_ours"]) for t in table.taps},
            "std": {t: float(record[f"{t}_std"] or 0) for t in table.taps}, "n": int(record["seeds"]),
            "classes": None, "minutes": float(record["cpu_minutes"]) if record.get("cpu_minutes") else None}
    return rows


def comparable(table: Table, summary: dict) -> bool:
    """Whether our numbers can be set against the paper's: the probe set has the paper's class count."""
    counts = {s["classes"] for s in summary.values() if s.get("classes")}
    return all(c == PAPER_CLASSES[table.probe_dataset] for c in counts)


def has_paper(table: Table) -> bool:
    """Whether the table has the paper's numbers to set beside ours (Table S, ours, has none)."""
    return any(r.paper for r in table.rows)


def cell(table: Table, row: Row, s: dict | None, tap: str, i: int) -> str:
    spread = f" ± {s['std'][tap]:.1f}" if s is not None and s["n"] > 1 else ""
    ours = "–" if s is None else f"{s['mean'][tap]:.1f}{spread}"
    if not has_paper(table):
        return ours
    return f"{ours} ({row.paper[i]:.1f})" if row.paper else f"{ours} (–)"


def mean_gap(table: Table, row: Row, s: dict | None, with_paper: bool) -> float | None:
    if s is None or row.paper is None or not with_paper:
        return None
    return sum(s["mean"][t] - p for t, p in zip(table.taps, row.paper)) / len(row.paper)


def write_report(table: Table, budget: Budget, summary: dict, out: Path, extra: list[str] | None = None) -> None:
    """Write OUT/tableN.{md,csv,png} from a `summarise`d dict (row key -> mean, std, seeds, CPU-min)."""
    with_paper = comparable(table, summary)
    ours_only = not has_paper(table)
    header = ["row", "method"] + list(table.taps) + ([] if ours_only else ["mean gap"]) + ["seeds", "CPU-min"]
    cells_are = "top-1 %" if ours_only else "ours (paper), top-1 %"
    lines = [f"# {table.title}", "", f"Budget: `{budget.name}`. Cells: {cells_are}; ± the sample standard deviation over seeds "
             "where a row ran at several." + ("" if ours_only else " Gap: ours − paper, averaged over layers.")
             + " CPU-min: training only.", ""]
    if not with_paper:
        counts = sorted({s["classes"] for s in summary.values() if s.get("classes")})
        lines += [f"**Not comparable with the paper:** the probe set has {', '.join(map(str, counts))} classes, not the "
                  f"{PAPER_CLASSES[table.probe_dataset]} of the paper's; its numbers are shown for reference only and no gap "
                  "is computed.", ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["row", "method"] + [f"{t}_ours" for t in table.taps] + [f"{t}_std" for t in table.taps]
                    + [f"{t}_paper" for t in table.taps] + ["mean_gap", "seeds", "cpu_minutes"])
    for row in table.rows:
        s = summary.get(row.key)
        gap = mean_gap(table, row, s, with_paper)
        label = row.label + (" ¹" if row.note else "")
        minutes = "" if s is None or s["minutes"] is None else f"{s['minutes']:.1f}"
        lines.append(f"| ({row.key}) | {label} | " + " | ".join(cell(table, row, s, t, i) for i, t in enumerate(table.taps))
                     + ("" if ours_only else f" | {'' if gap is None else f'{gap:+.1f}'}")
                     + f" | {'' if s is None else s['n']} | {minutes} |")
        # three decimals: a report re-read as published (`published`) shows the same one-decimal cells
        writer.writerow([row.key, row.label] + [("" if s is None else f"{s['mean'][t]:.3f}") for t in table.taps]
                        + [("" if s is None or s["n"] < 2 else f"{s['std'][t]:.3f}") for t in table.taps]
                        + list(row.paper or [""] * len(table.taps)) + ["" if gap is None else f"{gap:.2f}",
                                                                       "" if s is None else s["n"], minutes])
    notes = [f"- ({r.key}) {r.note}" for r in table.rows if r.note]
    if notes:
        lines += ["", "¹ Notes:"] + notes
    lines += ["", f"![accuracy against depth]({table.name}.png)", ""]
    lines += conclusions_section(table, summary) + list(extra or [])
    atomic_write_text(out / f"{table.name}.md", "\n".join(lines))
    atomic_write_text(out / f"{table.name}.csv", buffer.getvalue())
    plot_table(table, summary, out / f"{table.name}.png", with_paper)


def conclusions_section(table: Table, summary: dict) -> list[str]:
    """The paper's claims for this table, each checked against the numbers above (generated, never typed)."""
    margin, basis = noise_margin(summary, table.taps)
    title = "The paper's claims, checked" if has_paper(table) else "Claims, checked"
    lines = [f"## {title}", "",
             f"A difference counts when it exceeds **{margin:.1f} points** ({basis}); smaller ones are inconclusive.", ""]
    for claim in CLAIMS.get(table.name, ()):
        verdict, evidence = claim.check(summary, table.taps, margin)
        lines.append(f"- **{claim.text}** {verdict}. {evidence}")
    return lines + [""]


def plot_table(table: Table, summary: dict, path: Path, with_paper: bool = True) -> None:
    lines = []
    for i, row in enumerate(r for r in table.rows if r.key in summary):
        lines.append(dict(label=f"({row.key}) {row.label}", values=[summary[row.key]["mean"][t] for t in table.taps], colour=i))
        if row.paper and with_paper:
            lines.append(dict(values=list(row.paper), colour=i, dashed=True))
    title = f"{table.title}\nsolid: ours" + (", dashed: paper" if with_paper else "")
    plot_depth(path, list(table.taps), lines, title)


def write_index(out: Path) -> None:
    parts = ["# monossl reproduction", ""]
    for name in TABLES:
        if (out / f"{name}.md").exists():
            parts += [(out / f"{name}.md").read_text(), ""]
    atomic_write_text(out / "index.md", "\n".join(parts))
