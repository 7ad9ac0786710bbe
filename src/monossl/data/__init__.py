"""Data: source images, the §3.1 patch sampler, patch datasets, CIFAR and image folders.

Imported lazily: `monossl.data.augment` and `monossl.data.inputs` (the options) load no torch."""
import importlib

_WHERE = {"AugmentConfig": "augment", "PatchSampler": "sampler", "PatchDataset": "patches", "materialise": "patches",
          "load_patch_dir": "patches", "load_sources": "specs", "TrainInput": "inputs"}


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"monossl.data.{_WHERE[name]}"), name)
    raise AttributeError(name)


__all__ = list(_WHERE)
