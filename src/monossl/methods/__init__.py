"""Pretraining methods, one module each, in a static registry (as solo-learn's).

Every method module exposes `Hparams` (a dataclass whose defaults are its paper's), `check(config,
hparams)` (run before anything launches) and `train(run, hparams)`, one plain loop over
`monossl.methods.engine.Run`. Modules are imported only when a method is used.
"""
from __future__ import annotations

import importlib
import math
import typing
from dataclasses import asdict, dataclass, fields

from monossl.errors import UserError


@dataclass(frozen=True)
class Method:
    module: str
    summary: str
    default_batch: int = 128


METHODS = {
    "rotnet": Method("monossl.methods.rotnet", "RotNet (Gidaris et al. 2018): 4-way rotation prediction"),
    "deepcluster": Method("monossl.methods.deepcluster", "DeepCluster (Caron et al. 2018): k-means pseudo-labels"),
    "monogan": Method("monossl.methods.monogan", "MonoGAN: WGAN-GP whose critic is the CIFAR trunk (§4.2)", 64),
    "bigan": Method("monossl.methods.bigan", "BiGAN (Donahue et al. 2017): encoder, generator and joint discriminator"),
    "supervised": Method("monossl.methods.supervised", "the 'Fully supervised' baseline on the dataset's labels"),
}


def method_module(name: str):
    if name not in METHODS:
        raise UserError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    return importlib.import_module(METHODS[name].module)


def coerce(name: str, kind, value):
    """One hyperparameter value as its field's declared type (`0` for a float field becomes 0.0)."""
    flag = f"--{name.replace('_', '-')}"
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if value is None:
        if type(None) in args:
            return None
        raise UserError(f"{flag}: needs a value")
    if args and type(None) in args:  # X | None
        kind = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is tuple:
        items = value.split(",") if isinstance(value, str) else list(value)
        return tuple(coerce(name, args[0], v) for v in items if str(v).strip() != "")
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise UserError(f"{flag} {value}: give true or false")
    if kind in (int, float):
        try:
            number = kind(value) if not (kind is int and isinstance(value, float)) else None
            if kind is int and isinstance(value, str) and not value.strip().lstrip("+-").isdigit():
                number = None
        except (TypeError, ValueError):
            number = None
        if number is None:
            raise UserError(f"{flag} {value}: must be {'a whole number' if kind is int else 'a number'}")
        if not math.isfinite(number) or number < 0:
            raise UserError(f"{flag} {value}: must be a finite number, zero or more")
        return number
    return str(value)


def resolve_hparams(method: str, given: dict):
    """The method's Hparams from user values (strings or typed), each checked against its field's type."""
    module = method_module(method)
    hints = typing.get_type_hints(module.Hparams)
    names = {f.name for f in fields(module.Hparams)}
    unknown = sorted(set(given) - names)
    if unknown:
        raise UserError(f"{method}: unknown hyperparameter(s) {', '.join(unknown)}; see monossl pretrain {method} --help")
    return module.Hparams(**{k: coerce(k, hints[k], v) for k, v in given.items()})


def check(config):
    """Everything about a run that can be refused is refused here, before Fabric launches anything."""
    if config.method not in METHODS:
        raise UserError(f"unknown method {config.method!r}; choose one of {', '.join(METHODS)}")
    from monossl.nets.registry import ARCHS

    if config.arch not in ARCHS:
        raise UserError(f"--arch {config.arch}: choose one of {', '.join(ARCHS)}")
    for name in ("epochs", "batch_size", "devices", "nodes"):
        value = getattr(config, name)
        if not isinstance(value, int) or value < 1:
            raise UserError(f"--{name.replace('_', '-')} {value}: must be a whole number, at least 1")
    if config.workers < 0:
        raise UserError(f"--workers {config.workers}: must be 0 or more")
    if config.seed < 0:
        raise UserError(f"--seed {config.seed}: must be 0 or more")
    config.input.validate()
    if config.arch != "cifar":
        from monossl.methods.classifier import crop_size
        from monossl.nets.classifier import feature_dim
        from monossl.nets.registry import build_trunk

        crop = crop_size(config.arch, config.input.size)
        try:
            feature_dim(build_trunk(config.arch), crop)
        except RuntimeError:
            raise UserError(f"--arch {config.arch} cannot see {config.input.size}-px patches ({crop}-px crops are too small "
                            "for its pooling); use --size 128 or more, or --arch cifar") from None
    length = config.input.length()
    if length is not None and length < config.batch_size * config.devices * config.nodes:
        raise UserError(f"{length} training images but --batch-size {config.batch_size} on {config.devices * config.nodes} device(s); "
                        "raise --count or lower --batch-size")
    hparams = resolve_hparams(config.method, config.hparams)
    method_module(config.method).check(config, hparams)
    return hparams


def pretrain(config, resume: bool = False):
    """Run (or resume) one pretraining job; returns the finished run. A finished run is left as it is."""
    from monossl.methods.engine import Run

    import shutil
    from pathlib import Path

    from monossl.rundir import check_writable

    hparams = check(config)
    config.hparams = asdict(hparams)
    out = Path(config.out)
    check_writable(out)
    if resume and not (out / "config.json").exists():
        raise UserError(f"{out}: no interrupted run to resume here; drop --resume to start one")
    fresh = not out.exists() or not any(out.iterdir())
    run = Run(config, resume=resume)
    if resume and run.finished:
        return run
    run.prepare()
    try:
        method_module(config.method).train(run, hparams)
    except UserError:
        # refused before anything was learned: leave nothing that blocks the corrected command
        if fresh and not run.checkpoint_path.exists() and run.fabric.is_global_zero:
            shutil.rmtree(out, ignore_errors=True)
        raise
    return run


def __getattr__(name):  # PretrainConfig and Run without importing the engine (and Lightning) up front
    if name in ("PretrainConfig", "Run"):
        from monossl.methods import engine

        return getattr(engine, name)
    raise AttributeError(name)


__all__ = ["METHODS", "PretrainConfig", "Run", "check", "method_module", "pretrain", "resolve_hparams"]
