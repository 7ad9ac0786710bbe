"""Trunks with named taps (conv1..convK after each ReLU), a registry, and checkpoint I/O.

Imported lazily: `from monossl.nets import build_trunk` loads torch, `monossl.nets.archs` does not."""
import importlib

_WHERE = {"Trunk": "trunk", "absorb_batchnorm": "trunk", "prepare_input": "trunk", "CifarTrunk": "cifar",
          "AlexNet": "alexnet", "ARCHS": "registry", "build_trunk": "registry", "load_trunk": "registry",
          "save_trunk": "registry"}


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"monossl.nets.{_WHERE[name]}"), name)
    raise AttributeError(name)


__all__ = list(_WHERE)
