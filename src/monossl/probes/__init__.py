"""Evaluation of frozen trunks: linear probes on every tap (§4.1, `linear`) and weighted kNN (`knn`).

Imported lazily: `monossl.probes.config` (the protocol's options) loads no torch."""
import importlib

_WHERE = {"ProbeConfig": "config", "PRESETS": "config", "AUGMENTS": "config", "NORMS": "config", "BN_STATS": "config"}


def __getattr__(name):
    module = _WHERE.get(name, "linear")
    try:
        return getattr(importlib.import_module(f"monossl.probes.{module}"), name)
    except AttributeError:
        raise AttributeError(name) from None
