"""Run directories: atomic files, the resolved config, JSONL metrics and checkpoints.

Every file is written to a temporary name beside its target and renamed into place, so a run
killed at any moment (even with `kill -9`) never leaves a half-written file that looks complete.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from monossl.errors import UserError


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


def read_state(path: Path, fix: str = "delete it and rerun", kind: type | None = dict) -> Any:
    """A JSON file monossl wrote (a config, a state, a result, a cache), or one line naming it when it is damaged
    (cut short, garbage, or not the expected kind) and what to do.

    Raises:
        UserError: the file cannot be read as JSON of `kind`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        if kind is not None and not isinstance(data, kind):
            raise ValueError(f"holds a {type(data).__name__}, not a {kind.__name__}")
        return data
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = str(exc).split(":")[0] if isinstance(exc, json.JSONDecodeError) else str(exc) or type(exc).__name__
        raise UserError(f"{path}: damaged ({reason}); {fix}") from None


def atomic_torch_save(obj: Any, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.chmod(tmp, 0o644)  # as every other file of a run (mkstemp creates 0600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class MetricsLog:
    """Append-only JSONL metrics. On resume, records past the resumed step are dropped."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def append(self, record: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as handle:
            handle.write(json.dumps(record, default=float) + "\n")

    def records(self) -> list[dict]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # a torn last line from a kill
                break
        return out

    def truncate_after(self, key: str, value: float) -> None:
        """Keep only records with record[key] <= value (those a resumed run will not repeat)."""
        kept = [r for r in self.records() if r.get(key, 0) <= value]
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))


def prepare_out_dir(out: Path, resume: bool) -> Path:
    """Create a run directory; refuse to write into a non-empty one unless resuming. Temporary files
    left by a kill during an atomic write (`.NAME.*.tmp`) are removed: they never held a complete file."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is a file; choose a directory path for --out")
    if out.exists() and any(out.iterdir()) and not resume:
        raise UserError(f"{out}: directory is not empty; pass --resume to continue it or pick a new --out")
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.rglob(".*.tmp"):
        stale.unlink(missing_ok=True)
    return out


def check_writable(out: Path) -> None:
    """Refuse early (one line) when OUT's nearest existing parent cannot be written."""
    out = Path(out)
    parent = next((p for p in [out, *out.parents] if p.exists()), Path("."))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{parent}: not writable; choose an --out where you may write")
