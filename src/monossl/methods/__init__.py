"""Pretraining methods, one module each, in a registry (as solo-learn's).

Every method module exposes `Hparams` (a dataclass whose defaults are its paper's) and
`train(run, hparams)`, one plain loop over `monossl.methods.engine.Run`.
"""
from __future__ import annotations

import importlib
from dataclasses import asdict, fields

from monossl.errors import UserError
from monossl.methods.engine import PretrainConfig, Run

METHODS = {
    "rotnet": "RotNet (Gidaris et al. 2018): 4-way rotation prediction",
    "deepcluster": "DeepCluster (Caron et al. 2018): k-means pseudo-labels",
    "monogan": "MonoGAN: WGAN-GP whose critic is the CIFAR trunk (§4.2)",
    "bigan": "BiGAN (Donahue et al. 2017): encoder, generator and joint discriminator",
    "supervised": "the 'Fully supervised' baseline on the dataset's labels",
}


def method_module(name: str):
    if name not in METHODS:
        raise UserError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    return importlib.import_module(f"monossl.methods.{name}")


def pretrain(config: PretrainConfig, resume: bool = False) -> Run:
    """Run (or resume) one pretraining job; returns the finished run. A finished run is left as it is."""
    module = method_module(config.method)
    known = {f.name for f in fields(module.Hparams)}
    unknown = set(config.hparams) - known
    if unknown:
        raise UserError(f"{config.method}: unknown hyperparameter(s) {', '.join(sorted(unknown))}")
    hparams = module.Hparams(**config.hparams)
    config.hparams = asdict(hparams)
    run = Run(config, resume=resume)
    if resume and run.finished:
        return run
    run.prepare()
    module.train(run, hparams)
    return run


__all__ = ["METHODS", "PretrainConfig", "Run", "method_module", "pretrain"]
