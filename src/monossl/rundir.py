"""Run directories: atomic files, the resolved config, JSONL metrics and checkpoints.

Every file is written to a temporary name beside its target and renamed into place, so a run
killed at any moment (even with `kill -9`) never leaves a half-written file that looks complete.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
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
        try:
            torch.save(obj, tmp)
        except (OSError, RuntimeError) as exc:  # torch wraps a failed write (a full disk, a size limit) in a RuntimeError
            raise write_failure(exc, path) from None
        os.chmod(tmp, 0o644)  # as every other file of a run (mkstemp creates 0600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_failure(exc: BaseException, path: Path) -> BaseException:
    """A failed write as the OSError it is: torch reports a full disk or a file-size limit as a RuntimeError; other
    errors are returned as they are."""
    if isinstance(exc, OSError):
        return exc
    if "write" not in str(exc).lower():
        return exc
    full = shutil.disk_usage(Path(path).parent).free < 1 << 20
    code = errno.ENOSPC if full else errno.EIO
    return OSError(code, os.strerror(code), str(path))


class MetricsLog:
    """Append-only JSONL metrics. On resume, records past the resumed step are dropped."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def append(self, record: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as handle:
            handle.write(json.dumps(record, default=float) + "\n")

    def records(self) -> list[dict]:
        """Every record; a torn last line (a kill mid-write) is dropped, anything else unreadable is refused.

        Raises:
            UserError: a line before the last is not a JSON record (the file is damaged)."""
        if not self.path.exists():
            return []
        try:
            lines = self.path.read_text().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"{self.path}: damaged ({type(exc).__name__}); delete it (the run's record of its "
                            "epochs) or the whole run folder") from None
        out = []
        for i, line in enumerate(lines):
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError
                out.append(record)
            except ValueError:
                if i == len(lines) - 1:  # a torn last line from a kill
                    break
                raise UserError(f"{self.path}: damaged (line {i + 1} is not a record); delete it (the run's record of "
                                "its epochs) or the whole run folder") from None
        return out

    def truncate_after(self, key: str, value: float) -> None:
        """Keep only records with record[key] <= value (those a resumed run will not repeat)."""
        kept = [r for r in self.records() if r.get(key, 0) <= value]
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))


LOCK = ".monossl.lock"


@contextlib.contextmanager
def writer_lock(target: Path, folder: bool = True):
    """Hold a lock on an output (a folder: TARGET/.monossl.lock; a file: TARGET.lock) for as long as this process
    writes it. A second process is refused at once, whatever the timing (`flock` is atomic, and the kernel drops
    the lock of a killed process, so a `kill -9` never leaves a stale one). Distributed ranks other than 0 do not lock.

    Raises:
        UserError: another process holds the lock."""
    target = Path(target)
    if os.environ.get("RANK", "0") != "0" or os.environ.get("LOCAL_RANK", "0") != "0":
        yield
        return
    if folder and target.exists() and not target.is_dir():
        raise UserError(f"{target}: exists and is a file; choose a folder path for --out")
    path = target / LOCK if folder else target.with_name(target.name + ".lock")
    created = folder and not target.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise UserError(f"{target}: another monossl process is writing here; wait for it to finish, or choose another "
                        "output") from None
    try:
        yield
    finally:
        if not folder or (created and target.is_dir() and [p.name for p in target.iterdir()] == [LOCK]):
            path.unlink(missing_ok=True)  # a refused command leaves no folder it made
            if folder:
                target.rmdir()
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def prepare_out_dir(out: Path, resume: bool) -> Path:
    """Create a run directory; refuse to write into a non-empty one unless resuming. Temporary files
    left by a kill during an atomic write (`.NAME.*.tmp`) are removed: they never held a complete file."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is a file; choose a directory path for --out")
    if out.exists() and any(p.name != LOCK for p in out.iterdir()) and not resume:
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
