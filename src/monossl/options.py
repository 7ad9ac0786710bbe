"""Options declared once, on dataclasses: the single source of the CLI's flags, `--help`, `--config` files,
the Python API's checks and every `config.json`.

A field declared with `option(default, help, ...)` says its type (the annotation), its default, one help string,
and the values it may take (`choices`, a range: `low` <= v, `above` < v, v <= `high`, v < `below`). Nested
dataclasses (`nested(Cls)`) group options; on the command line their leaves are flat flags, in files they are
nested mappings. `build(Cls, mapping)` turns values (typed, from a file or the API; or strings from the command
line with `text=True`) into a checked instance: the declared type, the range, unknown keys refused with a "did
you mean", then the class's own `validate()` for checks across fields. `add_arguments` and `cli_values` are the
argparse side; `to_dict` writes an instance as JSON data. Nothing here imports torch.
"""
from __future__ import annotations

import argparse
import contextvars
import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Iterator, Mapping

from monossl.errors import OptionError, UserError, flag_name, opt

MISSING = dataclasses.MISSING
_DEFERRED = contextvars.ContextVar("deferred", default=False)  # build(validate=False): types and ranges only


def option(default=MISSING, help: str = "", *, choices=None, low=None, above=None, high=None, below=None,
           flag: str | None = None, positional: bool = False, nargs: str | None = None, metavar: str | None = None,
           cli: bool = True, shown: str | None = None):
    """A dataclass field that is an option. `flag` overrides the command-line spelling (`--no-scale` for a switch
    whose default is on is derived), `positional` makes it an argument, `cli=False` keeps it out of the command
    line (a file or the API may still set it), `shown` replaces the default in `--help`."""
    meta = dict(help=help, choices=tuple(choices) if choices is not None else None, low=low, above=above, high=high,
                below=below, flag=flag, positional=positional, nargs=nargs, metavar=metavar, cli=cli, shown=shown)
    if isinstance(default, (list, dict, set)):
        raise TypeError("mutable defaults: use a tuple")
    return dataclasses.field(default=default, metadata={"option": meta})


class Options:
    """Base of every options dataclass: an instance is checked when it is made (each option's type, choices and
    range, ints taken for floats and lists for tuples), then by the class's own `validate()` (checks across
    fields). So the Python API refuses what the command line refuses."""

    def __post_init__(self):
        check(self)
        if not _DEFERRED.get():
            self.validate()

    def validate(self):
        return self


def check(instance) -> None:
    """Every option of `instance` against its declared type and values (normalising int -> float, list -> tuple)."""
    kinds = hints(type(instance))
    for f in dataclasses.fields(instance):
        if "option" not in f.metadata:
            continue
        value = getattr(instance, f.name)
        normal = coerce(f.name, kinds[f.name], value, False)
        check_value(f.name, normal, meta_of(f))
        if normal is not value:
            object.__setattr__(instance, f.name, normal)


def nested(cls, help: str = ""):
    """A group of options: a dataclass field holding another options dataclass."""
    return dataclasses.field(default_factory=cls, metadata={"nested": cls, "help": help})


def meta_of(f: dataclasses.Field) -> dict:
    return f.metadata.get("option", {})


def hints(cls) -> dict:
    return typing.get_type_hints(cls)


def leaves(cls, prefix: str = "") -> Iterator[tuple[str, dataclasses.Field, object]]:
    """(dotted path, field, type) of every option of `cls`, nested groups flattened, in declaration order."""
    kinds = hints(cls)
    for f in dataclasses.fields(cls):
        path = f"{prefix}{f.name}"
        if "nested" in f.metadata:
            yield from leaves(f.metadata["nested"], f"{path}.")
        elif "option" in f.metadata:
            yield path, f, kinds[f.name]


def unwrap_optional(kind) -> tuple[object, bool]:
    args = typing.get_args(kind)
    if (typing.get_origin(kind) in (typing.Union, types.UnionType)) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return kind, False


def describe(kind) -> str:
    kind, optional = unwrap_optional(kind)
    if typing.get_origin(kind) is tuple:
        return f"a list of {describe(typing.get_args(kind)[0])}s"
    name = {int: "a whole number", float: "a number", bool: "true or false", str: "a text"}.get(kind, str(kind))
    return name + (" or null" if optional else "")


def coerce(name: str, kind, value, text: bool, source: str = "api"):
    """`value` as the declared `kind`: strings are parsed when `text` (the command line), typed values must
    already have the type (a file, the API; an int is taken for a float, nothing else is converted).

    Raises:
        OptionError: the value is not of the kind."""
    kind, optional = unwrap_optional(kind)

    def bad(problem: str):
        return OptionError(name, value, problem, source)

    if value is None or (text and optional and isinstance(value, str) and value.strip().lower() in ("none", "null")):
        if optional:
            return None
        raise bad(f"needs {describe(kind)}")
    if typing.get_origin(kind) is tuple:
        args = typing.get_args(kind)
        item = args[0]
        if text and isinstance(value, str):
            parts = [v.strip() for v in value.split(",") if v.strip() != ""]
        elif isinstance(value, (list, tuple)):
            parts = list(value)
        else:
            raise bad(f"must be {describe(kind)}, given as a list" + (" (comma-separated)" if text else ""))
        if Ellipsis not in args and len(parts) != len(args):
            raise bad(f"give {len(args)} values" + (", comma-separated" if text else ""))
        try:
            return tuple(coerce(name, item, v, text and isinstance(v, str), source) for v in parts)
        except OptionError as exc:  # name the whole list, as it was given
            raise OptionError(name, value, f"each item {exc.problem}", source) from None
    if kind is bool:
        if isinstance(value, bool):
            return value
        if text and isinstance(value, str):
            word = value.strip().lower()
            if word in ("1", "true", "yes", "on"):
                return True
            if word in ("0", "false", "no", "off"):
                return False
        raise bad("must be true or false")
    if kind is int:
        if isinstance(value, bool):
            raise bad("must be a whole number")
        if isinstance(value, int):
            return value
        if text and isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            return int(value)
        raise bad("must be a whole number" + (f", not {type(value).__name__} {value!r}" if not isinstance(value, str) else ""))
    if kind is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif text and isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                pass
        if number is None:
            raise bad("must be a number")
        if not math.isfinite(number):
            raise bad("must be a finite number")
        return number
    if kind is str:
        if isinstance(value, str):
            return value
        raise bad("must be a text")
    raise TypeError(f"option {name}: unsupported type {kind!r}")


def check_value(name: str, value, meta: dict, source: str = "api") -> None:
    """The declared choices and range of one option."""
    if value is None:
        return
    items = value if isinstance(value, tuple) else (value,)
    choices = meta.get("choices")
    for v in items:
        if choices is not None and v not in choices:
            raise OptionError(name, value, f"choose {', '.join(map(str, choices))}", source)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        limits = [("low", lambda a, b: a >= b, "at least"), ("above", lambda a, b: a > b, "more than"),
                  ("high", lambda a, b: a <= b, "at most"), ("below", lambda a, b: a < b, "less than")]
        for key, ok, words in limits:
            bound = meta.get(key)
            if bound is not None and not ok(v, bound):
                raise OptionError(name, value, f"must be {words} {bound}", source)


def suggest(word: str, known) -> str:
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def build(cls, values: Mapping | None = None, *, text: bool = False, source: str = "api", prefix: str = "",
          hparams=None, validate: bool = True):
    """A checked instance of options class `cls` from a (nested) mapping of values; absent options keep their
    defaults. `hparams(values) -> class` gives the class of a field marked `hparams` (a method's own options).

    Raises:
        OptionError: an unknown key (with a close match), a value of the wrong type, out of range, or missing."""
    values = dict(values or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kinds = hints(cls)
    unknown = sorted(set(values) - set(fields))
    if unknown:
        known = [f"{prefix}{n}" for n in fields]
        name = f"{prefix}{unknown[0]}"
        raise OptionError(name, values[unknown[0]], "unknown setting" + suggest(name, known) + "; see --help", source)
    kwargs = {}
    in_file = source not in ("api", "cli")
    for name, f in fields.items():
        path = f"{prefix}{name}"
        label = path if in_file else name  # a file's key path; the API's argument (the CLI's flag)
        if "nested" in f.metadata:
            given = values.get(name, {})
            if dataclasses.is_dataclass(given):
                given = to_dict(given)
            if not isinstance(given, Mapping):
                raise OptionError(path, given, "must be a mapping of settings", source)
            kwargs[name] = build(f.metadata["nested"], given, text=text, source=source, prefix=f"{path}.", validate=validate)
        elif f.metadata.get("hparams"):
            kind = hparams(values) if hparams else None
            given = values.get(name, {})
            if dataclasses.is_dataclass(given):
                given = to_dict(given)
            if kind is None:
                kwargs[name] = dict(given)
            else:
                if not isinstance(given, Mapping):
                    raise OptionError(path, given, "must be a mapping of settings", source)
                kwargs[name] = to_dict(build(kind, given, text=text, source=source, prefix=f"{path}." if in_file else "",
                                             validate=validate))
        elif name in values:
            value = coerce(label, kinds[name], values[name], text, source)
            try:
                check_value(label, value, meta_of(f), source)
            except OptionError as exc:
                exc.flag = None if in_file else cli_flag(path, f)
                raise
            kwargs[name] = value
        elif f.default is MISSING and f.default_factory is MISSING:
            raise UserError(f"{opt(label)} is required")
    token = _DEFERRED.set(not validate)
    try:
        instance = cls(**kwargs)
    finally:
        _DEFERRED.reset(token)
    if validate and not isinstance(instance, Options) and hasattr(instance, "validate"):
        instance.validate()
    return instance


def to_dict(obj) -> dict:
    """An options instance as JSON data (tuples as lists, nested groups as mappings)."""
    def plain(v):
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v
    return plain(obj)


def shown_default(f: dataclasses.Field) -> str | None:
    meta = meta_of(f)
    if meta.get("shown") is not None:
        return meta["shown"]
    if f.default is MISSING:
        return None
    d = f.default
    if isinstance(d, bool):
        return None  # a switch: its flag says which way it goes
    if isinstance(d, tuple):
        return ",".join(map(str, d)) if d else None
    return None if d in (None, "") else str(d)


def cli_flag(path: str, f: dataclasses.Field) -> str:
    meta = meta_of(f)
    if meta.get("flag"):
        return meta["flag"]
    if f.default is True:
        return "--no-" + f.name.replace("_", "-")
    return flag_name(path)


def add_arguments(parser: argparse.ArgumentParser, cls, prefix: str = "", title: str | None = None,
                  defaults: Mapping | None = None) -> dict[str, str]:
    """Add a flag (or positional) for every option of `cls` (defaults suppressed: only what is given is parsed);
    `defaults` (a nested mapping) replaces declared defaults in the help where another setting decides them.
    Returns dotted path -> flag, which `cli_values` reads back."""
    groups: dict = {}
    spelled = {}
    for path, f, kind in leaves(cls, prefix):
        meta = meta_of(f)
        if not meta.get("cli", True):
            continue
        owner = path.rsplit(".", 1)[0] if "." in path[len(prefix):] else None
        name = title if owner is None else nested_title(cls, path[len(prefix):])
        if name not in groups:
            groups[name] = parser.add_argument_group(name) if name else parser
        group = groups[name]
        help_text = meta.get("help", "")
        default = shown_default(f)
        layered = lookup(defaults or {}, path)
        if layered is not MISSING and layered not in (None, (), []) and not isinstance(layered, (bool, Mapping)):
            default = ",".join(map(str, layered)) if isinstance(layered, (list, tuple)) else str(layered)
        if default is not None:
            help_text += f" (default: {default})"
        base, _ = unwrap_optional(kind)
        common = dict(help=help_text or None, dest=path, default=argparse.SUPPRESS)
        if meta.get("positional"):
            group.add_argument(path, metavar=meta.get("metavar") or f.name.upper(), nargs=meta.get("nargs") or
                               ("?" if f.default is not MISSING else None), help=help_text or None,
                               default=argparse.SUPPRESS)
            spelled[path] = f.name.upper()
            continue
        flag = cli_flag(path, f)
        if base is bool and f.default in (True, False):
            group.add_argument(flag, action="store_const", const=str(not f.default), **common)
        else:
            choices = meta.get("choices")
            metavar = meta.get("metavar") or ("{" + ",".join(map(str, choices)) + "}" if choices else "V")
            group.add_argument(flag, nargs=meta.get("nargs"), metavar=metavar, **common)
        spelled[path] = flag
    return spelled


def nested_title(cls, path: str) -> str | None:
    """The help title of the nested group that holds option `path` (its innermost group)."""
    title, owner = None, cls
    for part in path.split(".")[:-1]:
        f = next(f for f in dataclasses.fields(owner) if f.name == part)
        title, owner = f.metadata.get("help") or part, f.metadata["nested"]
    return title


def lookup(tree: Mapping, path: str):
    for part in path.split("."):
        if not isinstance(tree, Mapping) or part not in tree:
            return MISSING
        tree = tree[part]
    return tree


def cli_values(namespace: argparse.Namespace, spelled: Mapping[str, str]) -> dict:
    """The options given on the command line, as a nested mapping of strings (for `build(..., text=True)`)."""
    out: dict = {}
    for path in spelled:
        if hasattr(namespace, path):
            value = getattr(namespace, path)
            if isinstance(value, list):
                value = tuple(value)
            put(out, path, value)
    return out


def put(tree: dict, path: str, value) -> None:
    *parents, last = path.split(".")
    for p in parents:
        tree = tree.setdefault(p, {})
    tree[last] = value


def merged(*trees: Mapping) -> dict:
    """Nested mappings laid over each other, later ones winning leaf by leaf."""
    out: dict = {}
    for tree in trees:
        for k, v in tree.items():
            if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
                out[k] = merged(out[k], v)
            else:
                out[k] = dict(v) if isinstance(v, Mapping) else v
    return out


def typed(cls, tree: Mapping, source: str = "cli", prefix: str = "", hparams=None) -> dict:
    """Command-line strings of a nested mapping parsed to their options' types (files' values stay typed), so
    that a config file and the command line can be merged before one `build`."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kinds = hints(cls)
    out = {}
    for name, value in tree.items():
        f = fields.get(name)
        path = f"{prefix}{name}"
        if f is None:
            out[name] = value
        elif "nested" in f.metadata and isinstance(value, Mapping):
            out[name] = typed(f.metadata["nested"], value, source, f"{path}.")
        elif f.metadata.get("hparams") and isinstance(value, Mapping) and hparams is not None:
            out[name] = typed(hparams, value, source, "")
        elif "option" in f.metadata:
            try:
                out[name] = coerce(name, kinds[name], value, True, source)
            except OptionError as exc:
                exc.flag = cli_flag(path, f)
                raise
        else:
            out[name] = value
    return out


def nest_leaves(cls, data: Mapping, extra: dict | None = None) -> dict:
    """A file's flat keys moved to their place: a top-level key that is not a field of `cls` but the name of exactly
    one nested option (`epochs` -> `protocol.epochs`; `lr` -> `hparams.lr` with `extra={"hparams": Hparams}`) goes
    there, so a file may be written flat like the flags or nested like config.json."""
    paths: dict[str, list[str]] = {}
    for path, _, _ in leaves(cls):
        paths.setdefault(path.rsplit(".", 1)[-1], []).append(path)
    for prefix, kind in (extra or {}).items():
        for path, _, _ in leaves(kind, f"{prefix}."):
            paths.setdefault(path.rsplit(".", 1)[-1], []).append(path)
    top = {f.name for f in dataclasses.fields(cls)}
    out: dict = {}
    for key, value in data.items():
        if key not in top and len(paths.get(key, [])) == 1:
            put(out, paths[key][0], value)
        else:
            out = merged(out, {key: value})
    return out


def load_file(path: str) -> dict:
    """A config file (JSON, or YAML for .yaml/.yml) as a mapping.

    Raises:
        UserError: no such file, not parseable, or not a mapping."""
    import json
    from pathlib import Path

    file = Path(path)
    if not file.is_file():
        raise UserError(f"--config {path}: no such file; pass a run's config.json or a YAML file")
    yaml_file = file.suffix.lower() in (".yaml", ".yml")
    try:
        text = file.read_text()
        if yaml_file:
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # noqa: BLE001 - any failure to read or parse is the user's file
        raise UserError(f"--config {path}: not valid {'YAML' if yaml_file else 'JSON'} ({type(exc).__name__}); "
                        "fix the file") from None
    if not isinstance(data, dict):
        raise UserError(f"--config {path}: holds no mapping of settings; write key: value pairs")
    return data
