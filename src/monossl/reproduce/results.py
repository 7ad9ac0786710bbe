"""A table's results as data: OUT/tableN.json, the one home of every number a report shows.

    {"format": 1, "table": "table1", "budget": "cpu", "columns": ["conv1", ...],
     "rows": {"j": {"seeds": {"0": {"top1": {"conv1": 65.3, ...}, "cpu_minutes": 6.1, "commit": "3edd267",
                                    "classes": 10}, ...}}, ...}}

Each row holds one record per seed: top-1 per column (a tap's linear probe, or another measured column), the
training CPU-minutes, the commit of monossl that made the probe, and the probe set's class count. Rows carried
over from a report written before per-seed records existed hold `summary` (mean, std, seeds, CPU-minutes)
instead, with `source` saying so. `checks` holds measurements made beside the rows (Table S: how
`monossl rank`'s score agrees with the probes). The Markdown, CSV, figure and conclusions are all rendered from this file
(`monossl.reproduce.report`), and a later run merges its rows into it (`merge`): a row measured again replaces
the seeds it re-measured, the other rows and seeds stay.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from monossl.errors import UserError
from monossl.rundir import read_json, write_json
from monossl.stats import mean_std

FORMAT = 1


@dataclass
class TableResults:
    table: str
    budget: str
    columns: list[str]
    rows: dict[str, dict] = field(default_factory=dict)
    checks: dict[str, dict] = field(default_factory=dict)  # measured checks beside the rows (Table S: "rank")

    def summary(self) -> dict[str, dict]:
        """Row key -> {"mean": {col: top-1}, "std": {col: sample std}, "n": seeds, "classes", "minutes"}: what the
        renderings and the conclusions read."""
        out = {}
        for key, row in self.rows.items():
            if "summary" in row:
                s = row["summary"]
                out[key] = {"mean": dict(s["mean"]), "std": dict(s["std"]), "n": int(s["n"]), "classes": s.get("classes"),
                            "minutes": s.get("cpu_minutes")}
                continue
            seeds = list(row["seeds"].values())
            if not seeds:
                continue
            stats = {c: mean_std(s["top1"][c] for s in seeds) for c in self.columns if all(c in s["top1"] for s in seeds)}
            minutes = [s["cpu_minutes"] for s in seeds if s.get("cpu_minutes") is not None]
            out[key] = {"mean": {c: m for c, (m, _) in stats.items()}, "std": {c: sd for c, (_, sd) in stats.items()},
                        "n": len(seeds), "classes": next((s.get("classes") for s in seeds if s.get("classes")), None),
                        "minutes": mean_std(minutes)[0] if minutes else None}
        return out

    def record(self, key: str, seed: int, top1: dict[str, float], cpu_minutes: float | None = None,
               commit: str | None = None, classes: int | None = None) -> None:
        """Set one seed of one row (replacing a carried-over summary of that row)."""
        row = self.rows.setdefault(key, {"seeds": {}})
        if "summary" in row:
            self.rows[key] = row = {"seeds": {}}
        row["seeds"][str(seed)] = {"top1": {c: float(v) for c, v in top1.items()}, "cpu_minutes": cpu_minutes,
                                   "commit": commit, "classes": classes}

    def merge(self, newer: "TableResults") -> "TableResults":
        """These results with `newer`'s rows laid over them, seed by seed."""
        merged = TableResults(self.table, self.budget, list(self.columns), {k: dict(v) for k, v in self.rows.items()},
                              {**self.checks, **newer.checks})
        for key, row in newer.rows.items():
            if "summary" in row or key not in merged.rows or "summary" in merged.rows[key]:
                merged.rows[key] = row
            else:
                merged.rows[key] = {"seeds": {**merged.rows[key]["seeds"], **row["seeds"]}}
        return merged

    def to_dict(self) -> dict:
        return {"format": FORMAT, "table": self.table, "budget": self.budget, "columns": list(self.columns),
                "rows": self.rows, "checks": self.checks}

    def save(self, path: Path) -> None:
        write_json(Path(path), self.to_dict())

    @classmethod
    def load(cls, path: Path) -> "TableResults":
        """Read OUT/tableN.json.

        Raises:
            UserError: the file is damaged or not a results file (naming it, and what to do)."""
        path = Path(path)
        try:
            data = read_json(path)
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}")
            rows = data["rows"]
            if not isinstance(rows, dict) or not all(isinstance(r, dict) and ("seeds" in r or "summary" in r)
                                                     for r in rows.values()):
                raise ValueError("rows")
            checks = data.get("checks", {})
            if not isinstance(checks, dict):
                raise ValueError("checks")
            return cls(str(data["table"]), str(data["budget"]), [str(c) for c in data["columns"]], rows, checks)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UserError(f"{path}: not a readable results file ({type(exc).__name__}: {exc}); restore it from "
                            "version control, or delete it to rebuild the report from OUT/probes") from None
