"""Bad input: one exception, printed by the CLI on one line with exit status 2.

A message names the problem and the fix. It names options in the library's own words: `opt("count")` marks
the option `count`, which reads `count` from the Python API and `--count` from the command line
(`UserError.cli_text`). `OptionError` is the error about one option's value: `count=0: must be at least 1`
from the API, `--count 0: must be at least 1` from the CLI, and `--config FILE: input.count: ...` for a value
read from a config file.
"""
from __future__ import annotations

import re

MARK = re.compile(r"⟪([A-Za-z_][\w.]*)⟫")


def opt(name: str) -> str:
    """A reference to the option `name` inside a message."""
    return f"⟪{name}⟫"


def flag_name(name: str) -> str:
    """The command-line flag of an option: its last name, dashed (`input.batch_size` -> `--batch-size`)."""
    return "--" + name.rsplit(".", 1)[-1].replace("_", "-")


class UserError(Exception):
    """Bad input from the user. The message names the problem and the fix."""

    def __str__(self) -> str:
        return MARK.sub(lambda m: m.group(1), str(self.args[0]) if self.args else "")

    def cli_text(self) -> str:
        """The message as the command line says it (options as flags)."""
        return MARK.sub(lambda m: flag_name(m.group(1)), str(self.args[0]) if self.args else "")


class OptionError(UserError):
    """A value that one option cannot take. `name` is the option's name (dotted inside a config file: `input.count`),
    `source` is "api", "cli" or the config file's path, `flag` overrides the option's command-line spelling."""

    def __init__(self, name: str, value, problem: str, source: str = "api", flag: str | None = None):
        super().__init__(problem)
        self.name, self.value, self.problem, self.source, self.flag = name, value, problem, source, flag

    def __str__(self) -> str:
        return f"{self.name}={self.value!r}: {UserError.__str__(self)}"

    def cli_text(self) -> str:
        problem = UserError.cli_text(self)
        if self.source not in ("api", "cli"):
            return f"--config {self.source}: {self.name}: {problem}"
        shown = ",".join(map(str, self.value)) if isinstance(self.value, (list, tuple)) else self.value
        return f"{self.flag or flag_name(self.name)} {shown}: {problem}"
