"""The command line, built from the library's declarations (`monossl.commands`): parsing, and bad input turned into
one line on stderr with exit status 2. Only the chosen command's options are built, so `--help` and refused values
are answered before any training machinery is imported."""
from __future__ import annotations

import argparse
import errno
import importlib
import signal
import sys
import warnings

from monossl import options as O
from monossl import provenance
from monossl.commands import COMMANDS, Command, pretrain_commands, summary
from monossl.errors import OptionError, UserError


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (the program named once), and no abbreviated flags."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        where = self.prog.removeprefix("monossl").strip()
        raise UserError(f"{where + ': ' if where else ''}{message} (see --help)")


def describe(command: Command) -> str:
    return f"{command.description or command.summary}\n\nDocs: {command.docs}"


def chosen_path(argv: list[str]) -> list[str]:
    """The command (and subcommand) named in argv: ["probe"], ["pretrain", "rotnet"], or []."""
    words = [a for a in argv if not a.startswith("-")]
    if not words or words[0] not in COMMANDS:
        return []
    entry = COMMANDS[words[0]]
    if isinstance(entry, Command):
        return words[:1]
    subs = pretrain_commands() if words[0] == "pretrain" else entry
    return words[:2] if len(words) > 1 and words[1] in subs else words[:1]


def add_command(sub, name: str, command: Command, path: list[str]) -> dict:
    """The full parser of one command; returns its options' flags (dotted path -> flag)."""
    p = sub.add_parser(name, help=command.summary, description=describe(command),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    spelled = O.add_arguments(p, options_of(command), defaults=layered_defaults(command, path, {}))
    if command.method:
        spelled |= O.add_arguments(p, hparams_of(command), prefix="hparams.",
                                   title=f"{command.method} options (defaults: the method's paper)")
    if command.config:
        p.add_argument("--config", metavar="FILE", help="a JSON or YAML file of these settings (a run's config.json, a "
                       "probe result, ...); options given on the command line win", default=None)
    if command.resumable:
        p.add_argument("--resume", action="store_true", help="continue an interrupted run in OUT (never redoes a "
                       "finished one)")
    return spelled


def build_parser(argv: list[str]) -> tuple[argparse.ArgumentParser, list[str], dict]:
    from monossl import __version__

    parser = Parser(prog="monossl", description="Learn visual features from a single image (Asano et al., ICLR 2020).")
    parser.add_argument("--version", action="version", version=f"monossl {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser, metavar="COMMAND")
    path, spelled = chosen_path(argv), {}
    for name, entry in COMMANDS.items():
        if not path or name != path[0]:
            sub.add_parser(name, help=summary(name), add_help=False)
        elif isinstance(entry, Command):
            spelled = add_command(sub, name, entry, path)
        else:
            group = sub.add_parser(name, help=summary(name), description=summary(name))
            subs = group.add_subparsers(dest="sub", required=True, parser_class=Parser, metavar="KIND")
            for sub_name, command in (pretrain_commands() if name == "pretrain" else entry).items():
                if len(path) > 1 and sub_name == path[1]:
                    spelled = add_command(subs, sub_name, command, path)
                else:
                    subs.add_parser(sub_name, help=command.summary, add_help=False)
    return parser, path, spelled


def options_of(command: Command):
    if command.method:
        from monossl.methods.config import PretrainConfig

        return PretrainConfig
    return command.options


def hparams_of(command: Command):
    if not command.method:
        return None
    from monossl.methods import METHODS

    return METHODS[command.method].hparams


def layered_defaults(command: Command, path: list[str], tree: dict) -> dict:
    """Defaults that depend on other settings: a method's batch size, a probe preset's protocol."""
    if command.method:
        from monossl.methods import METHODS

        return {"method": command.method, "batch_size": METHODS[command.method].default_batch}
    layered = getattr(command.options, "layered", None)
    return layered(tree) if layered else {}


def resolve(command: Command, path: list[str], args: argparse.Namespace, spelled: dict):
    """The options instance: defaults <- layered defaults <- --config FILE <- the command line."""
    hparams, options = hparams_of(command), options_of(command)
    given = O.typed(options, O.cli_values(args, spelled), hparams=hparams)
    from_file = {}
    if getattr(args, "config", None):
        data = O.load_file(args.config)
        reader = getattr(options, "from_file", None)
        data = reader(data, command.method) if reader else data
        from_file = O.nest_leaves(options, data, {"hparams": hparams} if hparams else None)
        base = O.merged(layered_defaults(command, path, from_file), from_file)
        O.build(options, base, source=args.config, validate=False,
                hparams=(lambda _: hparams) if hparams else None)  # the file's own values: one line naming its key
    tree = O.merged(from_file, given)
    tree = O.merged(layered_defaults(command, path, tree), tree)
    return O.build(options, tree, source="cli", hparams=(lambda _: hparams) if hparams else None)


WRITE_ERRORS = {errno.ENOSPC: ("no space left on the device", "free some space"),
                errno.EDQUOT: ("disk quota exceeded", "free some space"),
                errno.EFBIG: ("the file is larger than this process may write (ulimit -f)", "raise the limit"),
                errno.EACCES: ("permission denied", "choose a writable --out"),
                errno.EROFS: ("read-only file system", "choose a writable --out"),
                errno.EPERM: ("not permitted", "choose a writable --out"),
                errno.ELOOP: ("a symbolic-link loop", "choose a real path for --out"),
                errno.EISDIR: ("is a folder, not a file", "give a file name"),
                errno.ENOTDIR: ("a part of the path is a file, not a folder", "choose another --out"),
                errno.EIO: ("the file could not be written", "check the disk and the file-size limit (ulimit -f)"),
                errno.EEXIST: ("a file or a link is in the way of a folder", "choose another --out")}


def main(argv: list[str] | None = None) -> int:
    warnings.formatwarning = lambda message, category, *a, **k: f"monossl: warning: {message}\n"
    if hasattr(signal, "SIGXFSZ"):  # past a file-size limit, a write fails (EFBIG) instead of killing the process
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    argv = list(sys.argv[1:] if argv is None else argv)
    provenance.COMMAND = ["monossl", *argv]
    try:
        parser, path, spelled = build_parser(argv)
        args = parser.parse_args(argv)
        entry = COMMANDS[path[0]]
        command = entry if isinstance(entry, Command) else (pretrain_commands() if path[0] == "pretrain" else entry)[path[1]]
        instance = resolve(command, path, args, spelled)
        module, function = command.run.split(":")
        run = getattr(importlib.import_module(module), function)
        text = run(instance, resume=args.resume) if command.resumable else run(instance)
        if text:
            print(text)
    except UserError as exc:
        print(f"monossl: error: {exc.cli_text()}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno not in WRITE_ERRORS:
            raise
        what, fix = WRITE_ERRORS[exc.errno]
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"monossl: error: {where}{what}; {fix} (nothing incomplete was left looking finished; rerun with --resume "
              "where the command has it)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("monossl: interrupted; rerun with --resume to continue", file=sys.stderr)
        return 130
    return 0


__all__ = ["OptionError", "main"]
