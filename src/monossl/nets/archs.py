"""The trunk architectures, by name: the one list the options, the registry and the checkpoints share.

Each name maps to its class and fixed options; `build` imports the class only when a trunk is made, so this
module (and the options that list the names) import nothing heavy."""
from __future__ import annotations

import importlib

ARCHS = {
    "cifar": ("monossl.nets.cifar", "CifarTrunk", {}),  # §4.2's CIFAR trunk, 32 px
    "alexnet": ("monossl.nets.alexnet", "AlexNet", {"width": "big"}),  # 96-256-384-384-256 (DeepCluster)
    "alexnet-small": ("monossl.nets.alexnet", "AlexNet", {"width": "small"}),  # 64-192-384-256-256 (RotNet)
    "wrn-16-4": ("monossl.nets.wrn", "WideResNet", {"depth": 16, "widen": 4}),  # the distillation student, 32 px
}
ARCH_NAMES = tuple(ARCHS)
WHOLE_PATCH = ("cifar", "wrn-16-4")  # trunks that see the whole patch; AlexNets see 224/256 of it


def build(arch: str, **options):
    """A fresh trunk of architecture `arch` (a name of ARCHS) with extra constructor options."""
    module, cls, fixed = ARCHS[arch]
    return getattr(importlib.import_module(module), cls)(**fixed, **options)


def options_of(arch: str, trunk) -> dict:
    """A trunk's constructor options as recorded in checkpoints: its config without the architecture's fixed ones."""
    fixed = ARCHS[arch][2]
    return {k: v for k, v in trunk.config.items() if k not in fixed}
