"""Architecture registry and trunk checkpoints.

A monossl trunk checkpoint is `{"arch": name, "arch_options": {...}, "trunk": state_dict, ...}`, so
`monossl probe` needs no `--arch`. Published AlexNets (DeepCluster / linear-probes `features.N`,
RotNet `_feature_blocks`) load through `convert_state_dict`, which maps convs and BatchNorms by order.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from monossl.errors import OptionError, UserError
from monossl.nets import archs
from monossl.nets.trunk import Trunk
from monossl.rundir import atomic_torch_save, read_state

ARCHS = archs.ARCH_NAMES


def build_trunk(arch: str, seed: int = 0, **options) -> Trunk:
    """A fresh trunk of a named architecture (`monossl.nets.archs`), its weights drawn at `seed`: the random
    baseline of that seed, which is also where a run at that seed starts."""
    if arch not in archs.ARCHS:
        raise OptionError("arch", arch, f"unknown architecture; choose one of {', '.join(archs.ARCHS)}")
    trunk = archs.build(arch, **options)
    return trunk.reset_parameters(seed) if seed else trunk


def save_trunk(path: str | Path, trunk: Trunk, arch: str, **extra) -> None:
    options = archs.options_of(arch, trunk)
    atomic_torch_save({"arch": arch, "arch_options": options, "trunk": trunk.state_dict(), **extra}, Path(path))


def read_checkpoint(path: Path) -> dict:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not a checkpoint"
        raise UserError(f"{path}: not a PyTorch checkpoint ({type(exc).__name__}); pass a .pt/.pth file or a run folder") from None
    if not isinstance(obj, dict):
        raise UserError(f"{path}: not a checkpoint dictionary; pass a monossl run or an AlexNet state_dict")
    return obj


def load_trunk(spec: str | Path, arch: str | None = None) -> tuple[Trunk, str, dict]:
    """Load a trunk from a run folder, a monossl checkpoint or a published AlexNet state_dict.

    Returns (trunk, arch, checkpoint metadata)."""
    path = Path(spec)
    from monossl.nets.export import is_export, load_exported

    if is_export(path):
        trunk = load_exported(path)
        config = read_state(path / "config.json", "export the run again")
        return trunk, config["arch"], {"input_norm": config.get("input_norm", "unit"), "method": config.get("method"),
                                       "source": str(path)}
    if path.is_dir():
        if not (path / "trunk.pt").exists():
            raise UserError(f"{path}: no trunk.pt in this run folder; finish (or --resume) the pretraining first")
        path = path / "trunk.pt"
    if not path.exists():
        raise UserError(f"{path}: no such checkpoint or run folder")
    obj = read_checkpoint(path)
    if "trunk" in obj and "arch" in obj:
        if arch and arch != obj["arch"]:
            raise UserError(f"{path}: holds a {obj['arch']!r} trunk but --arch {arch} was given; drop --arch")
        try:
            trunk = build_trunk(obj["arch"], **obj.get("arch_options", {}))
            trunk.load_state_dict(obj["trunk"])
        except TypeError:
            raise UserError(f"{path}: records the {obj['arch']!r} architecture with options it does not take "
                            f"({', '.join(sorted(obj.get('arch_options', {})))}); the file is damaged or foreign") from None
        except (RuntimeError, OptionError) as exc:
            from monossl.methods.engine import checkpoint_problem

            problem = checkpoint_problem(exc).replace("from another method or architecture", "weights that do not fit "
                                                      f"the {obj['arch']!r} architecture it records")
            raise UserError(f"{path}: {problem}; the file is damaged or foreign") from None
        return trunk, obj["arch"], {k: v for k, v in obj.items() if k != "trunk"}
    if arch is None:
        raise UserError(f"{path}: a plain state_dict records no architecture; pass --arch alexnet|alexnet-small|cifar")
    state = obj.get("state_dict", obj.get("network", obj))
    sobel = any("sobel" in k for k in state) and arch.startswith("alexnet")
    trunk = build_trunk(arch, **({"sobel": True} if sobel else {}))
    try:
        trunk.load_state_dict(convert_state_dict(state, trunk))
    except (RuntimeError, ValueError) as exc:
        raise UserError(f"{path}: does not fit --arch {arch} ({str(exc).splitlines()[0]}); check the architecture") from None
    return trunk, arch, {"source": str(path), "input_norm": "imagenet"}


def convert_state_dict(state: dict, trunk: Trunk) -> dict:
    """Map a published AlexNet's convs and BatchNorms onto `trunk` by their order of appearance.

    Works for DeepCluster / linear-probes (`features.0.weight`, `features.1.running_mean`, ...) and
    RotNet (`_feature_blocks.0.0.weight`, ...); `module.` prefixes are dropped, classifiers ignored,
    and a DeepCluster Sobel front end, being fixed, is rebuilt rather than read.
    """
    state = {k.replace("module.", ""): v for k, v in state.items() if torch.is_tensor(v)}
    convs = [k[: -len(".weight")] for k, v in state.items() if k.endswith(".weight") and v.dim() == 4 and "sobel" not in k]
    bns = [k[: -len(".running_mean")] for k in state if k.endswith(".running_mean")]
    target = trunk.state_dict()
    mine_convs = [n for n, m in trunk.features.named_children() if isinstance(m, nn.Conv2d)]
    mine_bns = [n for n, m in trunk.features.named_children() if isinstance(m, nn.BatchNorm2d)]
    if len(convs) < len(mine_convs) or len(bns) < len(mine_bns):
        raise ValueError(f"found {len(convs)} convs / {len(bns)} BatchNorms, need {len(mine_convs)} / {len(mine_bns)}")
    out = dict(target)
    for theirs, mine in zip(convs, mine_convs):
        for p in ("weight", "bias"):
            key = f"features.{mine}.{p}"
            if key in target:
                src = state.get(f"{theirs}.{p}")
                if src is None and p == "bias":  # a bias-free conv (followed by BatchNorm)
                    src = torch.zeros_like(target[key])
                if src is None or src.shape != target[key].shape:
                    raise ValueError(f"{theirs}.{p} has shape {None if src is None else tuple(src.shape)}, "
                                     f"expected {tuple(target[key].shape)}")
                out[key] = src
    for theirs, mine in zip(bns, mine_bns):
        for p in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            if f"{theirs}.{p}" in state and f"features.{mine}.{p}" in target:
                out[f"features.{mine}.{p}"] = state[f"{theirs}.{p}"]
    return out


BASELINES = {
    "random": "the paper's Random rows: the ReLU trunk (with BatchNorm) at DeepCluster's init",
    "random-critic": "MonoGAN's critic at init: the CIFAR trunk without BatchNorm, LeakyReLU(0.2)",
    "random-critic-smooth": "MonoGAN's critic at its smooth init (--critic-init smooth): conv1's filters drawn spatially smooth",
    "random-critic-wgan-gp": "MonoGAN's critic at the WGAN-GP code's init (--critic-init wgan-gp)",
    "random-smooth": "the random trunk with conv1's filters drawn spatially smooth: where RotNet --trunk-init smooth starts",
    "random-sobel": "DeepCluster's trunk at init: the random trunk behind the frozen Sobel filter (grey gradients in)",
    "random-sobel-smooth": "DeepCluster's trunk at its smooth init (--trunk-init smooth): random-sobel with conv1 drawn "
                           "spatially smooth",
    "random-leaky": "BiGAN's encoder at init: the random trunk (with BatchNorm) with LeakyReLU(0.2) in place of ReLU",
    "kraehenbuehl": "Random Rescaled (Kraehenbuehl et al. 2016): within-layer data-dependent init",
}


# MonoGAN's critic init -> the baseline that is the critic at that init: the one table the run's metadata, `curve`
# and `reproduce` read
CRITIC_BASELINES = {"deepcluster": "random-critic", "smooth": "random-critic-smooth", "wgan-gp": "random-critic-wgan-gp"}


def critic_baseline(init: str) -> str:
    """The baseline that is MonoGAN's critic at a given init (`CRITIC_BASELINES`)."""
    return CRITIC_BASELINES[init]


# A trunk's init (RotNet's and DeepCluster's --trunk-init) and whether the Sobel filter is in front -> the baseline
# that is the trunk at that init
TRUNK_BASELINES = {("deepcluster", False): "random", ("smooth", False): "random-smooth",
                   ("deepcluster", True): "random-sobel", ("smooth", True): "random-sobel-smooth"}


def trunk_baseline(init: str, sobel: bool = False) -> str:
    """The baseline that is a (BatchNorm, ReLU) trunk at a given init, behind the Sobel filter or not
    (`TRUNK_BASELINES`)."""
    return TRUNK_BASELINES[(init, bool(sobel))]


def resolve_trunk(spec, arch: str | None = None, seed: int = 0, images: np.ndarray | None = None) -> tuple[Trunk, str, dict]:
    """The one way every command turns TRUNK into a trunk: a run folder or checkpoint, or a baseline
    (`BASELINES`; architecture `arch`, default cifar, drawn with `seed`).
    `kraehenbuehl` needs `images` (uint8 NHWC) for its data-dependent step. Returns (trunk, arch, metadata)."""
    if isinstance(spec, Trunk):
        return spec, arch or "cifar", {"input_norm": "unit"}
    spec = str(spec)
    if spec not in BASELINES:
        return load_trunk(spec, arch)
    arch = arch or "cifar"
    plain = spec in ("random", "kraehenbuehl")  # the trunk as drawn: every architecture has one
    if not plain and arch not in ("cifar", "alexnet", "alexnet-small"):
        raise UserError(f"{spec} is a baseline of the cifar trunk and the AlexNets, not of {arch}; pass --arch cifar, "
                        "alexnet or alexnet-small, or use random")
    if spec.startswith("random-critic"):
        if arch != "cifar":
            raise UserError(f"{spec} is MonoGAN's CIFAR critic; drop --arch {arch} or use random")
        init = next(i for i, b in CRITIC_BASELINES.items() if b == spec)
        trunk = build_trunk("cifar", batchnorm=False, act="leaky", init=init).reset_parameters(seed)
    elif plain:
        trunk = build_trunk(arch).reset_parameters(seed)
    elif spec == "random-leaky":
        trunk = build_trunk(arch, act="leaky").reset_parameters(seed)
    else:  # the trunk at an init, behind Sobel or not
        init, sobel = next(k for k, b in TRUNK_BASELINES.items() if b == spec)
        trunk = build_trunk(arch, init=init, sobel=sobel).reset_parameters(seed)
    if spec == "kraehenbuehl":
        from monossl.nets.init import kraehenbuehl_init
        from monossl.nets.trunk import prepare_input
        from monossl.seeding import rng

        if images is None:
            raise UserError("kraehenbuehl: the data-dependent init needs in-memory training images (use a CIFAR dataset)")
        pick = rng(seed, "kraehenbuehl").choice(len(images), size=min(1024, len(images)), replace=False)
        sample = torch.from_numpy(np.ascontiguousarray(images[np.sort(pick)])).permute(0, 3, 1, 2)
        kraehenbuehl_init(trunk, prepare_input(sample))
    return trunk, arch, {"init": spec, "seed": seed, "input_norm": "unit"}
