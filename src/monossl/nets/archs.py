"""The trunk architectures, by name: the one list the options, the registry and the checkpoints share.

Each name maps to its class and fixed options; `build` imports the class only when a trunk is made, so this
module (and the options that list the names) import nothing heavy."""
from __future__ import annotations

import importlib

ARCHS = {
    "cifar": ("monossl.nets.cifar", "CifarTrunk", {}),  # §4.2's CIFAR trunk, 32 px
    "alexnet": ("monossl.nets.alexnet", "AlexNet", {"width": "big"}),  # 96-256-384-384-256 (DeepCluster)
    "alexnet-small": ("monossl.nets.alexnet", "AlexNet", {"width": "small"}),  # 64-192-384-256-256 (RotNet)
}
ARCH_NAMES = tuple(ARCHS)


def build(arch: str, **options):
    """A fresh trunk of architecture `arch` (a name of ARCHS) with extra constructor options."""
    module, cls, fixed = ARCHS[arch]
    return getattr(importlib.import_module(module), cls)(**fixed, **options)
