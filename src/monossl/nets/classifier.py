"""Whole classifiers: a trunk with a head (`Classifier`), their checkpoint `RUN/classifier.pt`, and teachers.

A classifier checkpoint is `{"arch", "arch_options", "trunk", "head", "head_options", "classes", "input_size"}`:
the trunk as in `trunk.pt` plus the head's weights and shape, so a supervised run (or a distilled student)
can be loaded whole for evaluation or as a distillation teacher. `load_classifier` also takes a TorchScript
file of any classifier (`torch.jit.save`), for teachers that were not trained with monossl.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from monossl.errors import UserError
from monossl.rundir import read_state
from monossl.nets.trunk import Trunk


def build_head(in_dim: int, hidden: int | None, classes: int) -> nn.Module:
    """A linear head, or RotNet's AlexNet classifier (two hidden layers with BatchNorm).

    Shape: (B, in_dim) -> (B, classes)."""
    if not hidden:
        return nn.Linear(in_dim, classes)
    return nn.Sequential(nn.Linear(in_dim, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                         nn.Linear(hidden, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                         nn.Linear(hidden, classes))


def feature_dim(trunk: nn.Module, crop: int) -> int:
    """Flattened size of the trunk's output for a crop x crop input."""
    with torch.no_grad():
        was = trunk.training
        trunk.eval()
        dim = trunk(torch.zeros(1, 3, crop, crop)).flatten(1).shape[1]
        trunk.train(was)
    return dim


class Classifier(nn.Module):
    """logits = head(flatten(trunk(x))). Shape: (B, 3, S, S) in (-1, 1) -> (B, classes)."""

    def __init__(self, trunk: nn.Module, head: nn.Module):
        super().__init__()
        self.trunk, self.head = trunk, head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x).flatten(1))


def classifier_for(trunk: Trunk, crop: int, hidden: int | None, classes: int) -> Classifier:
    """A trunk with a fresh head sized for `crop` x `crop` inputs."""
    return Classifier(trunk, build_head(feature_dim(trunk, crop), hidden, classes))


def save_classifier(path: str | Path, model: Classifier, arch: str, classes: int, input_size: int, hidden: int | None,
                    **extra) -> None:
    """Write `model` (trunk and head) with what `load_classifier` needs to rebuild it."""
    from monossl.rundir import atomic_torch_save

    model = getattr(model, "module", model)
    from monossl.nets.archs import options_of

    options = options_of(arch, model.trunk)
    in_dim = feature_dim(model.trunk, input_size)
    atomic_torch_save({"arch": arch, "arch_options": options, "trunk": model.trunk.state_dict(),
                       "head": model.head.state_dict(), "classes": int(classes), "input_size": int(input_size),
                       "head_options": {"in_dim": in_dim, "hidden": hidden}, **extra}, Path(path))


def load_classifier(spec: str | Path) -> tuple[nn.Module, dict]:
    """A whole classifier in eval mode, from a run folder holding `classifier.pt`, such a file, or a TorchScript
    file. Returns (model, meta): meta holds `classes`, `input_size` (None when a TorchScript file does not say),
    `input_norm` and `kind` ("monossl" or "torchscript").

    Raises:
        UserError: no such file, a run without a classifier (self-supervised runs keep only a trunk), or a file
            that is neither.
    """
    from monossl.nets.registry import build_trunk, read_checkpoint

    path = Path(spec)
    from monossl.nets.export import is_export, load_exported

    if is_export(path):
        model = load_exported(path, classifier=True).requires_grad_(False)
        config = read_state(path / "config.json", "export the run again")
        return model, {"kind": "export", "classes": int(config["classes"]), "input_size": int(config["input_size"]),
                       "input_norm": config.get("input_norm", "unit"), "source": str(path)}
    if path.is_dir():
        if not (path / "classifier.pt").exists():
            hint = " (only supervised and distill runs keep one)" if (path / "trunk.pt").exists() else ""
            raise UserError(f"{path}: no classifier.pt in this run folder{hint}; pass a supervised run or a TorchScript file")
        path = path / "classifier.pt"
    if not path.is_file():
        raise UserError(f"{path}: no such classifier file or run folder")
    import warnings

    try:
        with warnings.catch_warnings():  # TorchScript is deprecated upstream; a user's teacher may still be one
            warnings.filterwarnings("ignore", message=".*is deprecated.*")
            scripted = torch.jit.load(str(path), map_location="cpu")
    except Exception:  # noqa: BLE001 - not TorchScript: try a monossl checkpoint
        scripted = None
    if scripted is not None:
        scripted.eval()
        return scripted, {"kind": "torchscript", "classes": None, "input_size": None, "input_norm": "unit",
                          "source": str(path)}
    obj = read_checkpoint(path)
    if not {"trunk", "head", "head_options", "classes"} <= set(obj):
        raise UserError(f"{path}: not a classifier checkpoint (no head); pass a supervised run's classifier.pt or a "
                        "TorchScript file")
    trunk = build_trunk(obj["arch"], **obj.get("arch_options", {}))
    model = Classifier(trunk, build_head(obj["head_options"]["in_dim"], obj["head_options"]["hidden"], obj["classes"]))
    try:
        trunk.load_state_dict(obj["trunk"])
        model.head.load_state_dict(obj["head"])
    except RuntimeError as exc:
        raise UserError(f"{path}: weights do not fit the architecture it records ({str(exc).splitlines()[0]}); "
                        "the file is damaged or foreign") from None
    model.eval().requires_grad_(False)
    return model, {"kind": "monossl", "classes": int(obj["classes"]), "input_size": int(obj["input_size"]),
                   "input_norm": "unit", "arch": obj["arch"], "source": str(path),
                   **{k: v for k, v in obj.items() if k in ("method", "test_acc")}}
