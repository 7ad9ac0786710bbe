"""Pretraining methods, one module each, in a static registry (as solo-learn's).

A method is its loop module (`monossl.methods.<name>`: `check(config, hp)`, run before anything launches, and
`train(run, hp)`, one plain loop over `monossl.methods.engine.Run`) and its options dataclass in
`monossl.methods.hparams`, whose defaults are its paper's. The registry imports no torch: loop modules are
imported only when a method runs.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from monossl.errors import OptionError, UserError, opt
from monossl.methods import hparams as H


@dataclass(frozen=True)
class Method:
    module: str
    summary: str
    hparams: type
    default_batch: int = 128
    docs: str = "docs/usage.md#monossl-pretrain"


METHODS = {
    "rotnet": Method("monossl.methods.rotnet", "RotNet (Gidaris et al. 2018): predict which of 4 rotations an image shows",
                     H.RotNet),
    "deepcluster": Method("monossl.methods.deepcluster", "DeepCluster (Caron et al. 2018): learn k-means pseudo-labels",
                          H.DeepCluster),
    "monogan": Method("monossl.methods.monogan", "MonoGAN: a WGAN-GP whose critic is the CIFAR trunk (§4.2)", H.MonoGAN, 64),
    "bigan": Method("monossl.methods.bigan", "BiGAN (Donahue et al. 2017): encoder, generator and joint discriminator",
                    H.BiGAN),
    "supervised": Method("monossl.methods.supervised", "the 'Fully supervised' rows: the trunk trained on labels",
                         H.Supervised),
    "simclr": Method("monossl.methods.simclr", "SimCLR (Chen et al. 2020): two views of a patch find each other (NT-Xent)",
                     H.SimCLR, 256),
    "dino": Method("monossl.methods.dino", "DINO (Caron et al. 2021): a student matches a momentum teacher across views",
                   H.DINO, 256),
    "distill": Method("monossl.methods.distill", "distillation from one image (Asano & Saeed 2023): a student imitates "
                      "a teacher on patches", H.Distill, 256, "docs/usage.md#monossl-distill"),
}


def method_module(name: str):
    if name not in METHODS:
        raise OptionError("method", name, f"unknown method; choose one of {', '.join(METHODS)}")
    return importlib.import_module(METHODS[name].module)


def check(config):
    """Everything about a run that can be refused is refused here, before Fabric launches anything; returns the
    method's options. Each option's own type and range were checked when the config was made."""
    config.validate()
    config.input.require_one()
    hparams = config.method_hparams()
    if not config.out:
        raise UserError(f"{opt('out')} RUN_DIR is required")
    if config.arch != "cifar":
        from monossl.methods.classifier import crop_size
        from monossl.nets.classifier import feature_dim
        from monossl.nets.registry import build_trunk

        crop = crop_size(config.arch, config.input.size)
        try:
            feature_dim(build_trunk(config.arch), crop)
        except RuntimeError:
            raise OptionError("arch", config.arch, f"cannot see {config.input.size}-px patches ({crop}-px crops are too "
                              f"small for its pooling); use {opt('size')} 128 or more, or {opt('arch')} cifar") from None
    length = config.input.length()
    if length is not None and length < config.batch_size * config.devices * config.nodes:
        raise OptionError("batch_size", config.batch_size, f"{length} training images, fewer than a batch on "
                          f"{config.devices * config.nodes} device(s); raise {opt('count')} or lower {opt('batch_size')}")
    method_module(config.method).check(config, hparams)
    return hparams


def pretrain(config, resume: bool = False):
    """Run (or resume) one pretraining job; returns the finished run. A finished run is left as it is."""
    import os
    import shutil
    from pathlib import Path

    from monossl.methods.engine import Run
    from monossl.options import to_dict
    from monossl.rundir import LOCK, check_writable, writer_lock

    hparams = check(config)
    config.hparams = to_dict(hparams)
    out = Path(config.out)
    check_writable(out)
    if resume and not (out / "config.json").exists():
        raise UserError(f"{out}: no interrupted run to resume here; drop {opt('resume')} to start one")
    fresh = not out.exists() or not any(p.name != LOCK for p in out.iterdir())
    with writer_lock(out):  # a second process on this folder is refused here, before anything is touched
        try:
            run = Run(config, resume=resume)
            if resume and run.finished:
                return run
            run.prepare()
            method_module(config.method).train(run, hparams)
        except UserError:
            # refused before anything was learned: leave nothing that blocks the corrected command
            if fresh and not (out / "checkpoint.pt").exists() and os.environ.get("RANK", "0") == "0":
                shutil.rmtree(out, ignore_errors=True)
            raise
    return run


def pretrain_command(config, resume: bool = False) -> str:
    """`monossl pretrain METHOD`: run it, then say how to probe the trunk (a command that runs as printed)."""
    import shlex

    run = pretrain(config, resume=resume)
    root = f" --data-root {shlex.quote(config.input.data_root)}" if config.input.data_root else ""
    dataset = "cifar10" if config.arch == "cifar" else "folder:TRAIN_DIR,VAL_DIR"
    out = shlex.quote(str(run.out))
    return f"trunk: {run.trunk_path}\nprobe it with: monossl probe {out} --dataset {dataset} --out {out}/probe.json{root}"


def __getattr__(name):  # PretrainConfig and Run without importing the engine (and Lightning) up front
    if name == "PretrainConfig":
        from monossl.methods.config import PretrainConfig

        return PretrainConfig
    if name == "Run":
        from monossl.methods.engine import Run

        return Run
    raise AttributeError(name)


__all__ = ["METHODS", "PretrainConfig", "Run", "check", "method_module", "pretrain"]
