"""Reports of `monossl reproduce`: OUT/tableN.md and .csv (every cell "ours (paper)", a mean-gap
column), OUT/tableN.png (accuracy against depth) and OUT/index.md."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

from monossl.reproduce.paper import TABLES, Row, Table
from monossl.rundir import atomic_write_text
from monossl.viz.figures import plot_depth

if TYPE_CHECKING:
    from monossl.reproduce.runner import Budget


def cells(table: Table, row: Row, taps: dict | None) -> list[str]:
    if taps is None:
        return [f"– ({p})" for p in paper_cells(table, row)]
    return [f"{taps[t]['top1']:.1f} ({p})" for t, p in zip(table.taps, paper_cells(table, row))]


def paper_cells(table: Table, row: Row) -> list[str]:
    return [f"{p:.1f}" for p in row.paper] if row.paper else ["–"] * len(table.taps)


def mean_gap(table: Table, row: Row, taps: dict | None) -> float | None:
    if taps is None or row.paper is None:
        return None
    return sum(taps[t]["top1"] - p for t, p in zip(table.taps, row.paper)) / len(row.paper)


def write_report(table: Table, budget: Budget, results: dict, out: Path) -> None:
    header = ["row", "method"] + list(table.taps) + ["mean gap"]
    lines = [f"# {table.title}", "", f"Budget: `{budget.name}`. Cells: ours (paper), top-1 %. Gap: ours − paper, averaged over layers.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["row", "method"] + [f"{t}_ours" for t in table.taps] + [f"{t}_paper" for t in table.taps] + ["mean_gap"])
    for row in table.rows:
        taps = results.get(row.key)
        gap = mean_gap(table, row, taps)
        label = row.label + (" ¹" if row.note else "")
        lines.append(f"| ({row.key}) | {label} | " + " | ".join(cells(table, row, taps)) + f" | {'' if gap is None else f'{gap:+.1f}'} |")
        writer.writerow([row.key, row.label] + [("" if taps is None else f"{taps[t]['top1']:.2f}") for t in table.taps]
                        + list(row.paper or [""] * len(table.taps)) + ["" if gap is None else f"{gap:.2f}"])
    notes = [f"- ({r.key}) {r.note}" for r in table.rows if r.note]
    if notes:
        lines += ["", "¹ Notes:"] + notes
    lines += ["", f"![accuracy against depth]({table.name}.png)", ""]
    atomic_write_text(out / f"{table.name}.md", "\n".join(lines))
    atomic_write_text(out / f"{table.name}.csv", buffer.getvalue())
    plot_table(table, results, out / f"{table.name}.png")


def plot_table(table: Table, results: dict, path: Path) -> None:
    lines = []
    for i, row in enumerate(r for r in table.rows if r.key in results):
        lines.append(dict(label=f"({row.key}) {row.label}", values=[results[row.key][t]["top1"] for t in table.taps], colour=i))
        if row.paper:
            lines.append(dict(values=list(row.paper), colour=i, dashed=True))
    plot_depth(path, list(table.taps), lines, f"{table.title}\nsolid: ours, dashed: paper")


def write_index(out: Path) -> None:
    parts = ["# monossl reproduction", ""]
    for name in TABLES:
        if (out / f"{name}.md").exists():
            parts += [(out / f"{name}.md").read_text(), ""]
    atomic_write_text(out / "index.md", "\n".join(parts))
