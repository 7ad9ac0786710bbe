"""What made a result: monossl's version and, in a git checkout, the commit (with `+dirty` for uncommitted changes)."""
from __future__ import annotations

import functools
import subprocess
from pathlib import Path


@functools.lru_cache(maxsize=1)
def commit() -> str | None:
    """The short commit of the checkout monossl runs from, `+dirty` when its tracked files changed; None outside git."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no", "--", "."],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if dirty else head or None


def made_by() -> dict:
    """{"version": monossl's version, "commit": `commit()`}, recorded beside every result."""
    from monossl import __version__

    return {"version": __version__, "commit": commit()}


COMMAND: list[str] | None = None  # the command line of this process ("monossl", ...), set by `monossl.cli.main`


def command_line() -> str:
    """The command that is running (`monossl ...`), or a note that it is the Python API."""
    import shlex

    return shlex.join(COMMAND) if COMMAND is not None else "the Python API (monossl.api)"


def stamp() -> str:
    """One line for a figure's foot: the version, the commit and the command that made it, paths shortened to their
    last part (a figure never carries a path of the machine that made it)."""
    from monossl import __version__

    words = [Path(w).name if "/" in w else w for w in command_line().split(" ")]
    return f"monossl {__version__} ({commit() or 'no git'}): {' '.join(words)}"
