"""The learning-rate schedules, in one place: step decay with milestones in epochs, linear decay, warm-up.

Pretraining methods give milestones as fractions of the run (RotNet's 30/60/80 of 100 epochs keeps
its shape in a 5-epoch run); `milestone_epochs` turns them into epochs. The probes give epochs.
`linear_lr` is the WGAN-GP authors' CIFAR schedule (``LR * max(0, 1 - iteration / ITERS)``), per step.
`warmup_lr` is the linear warm-up of Goyal et al. (2017, "Accurate, large minibatch SGD"), per step, in
front of any of them.
"""
from __future__ import annotations

from collections.abc import Sequence


def milestone_epochs(fractions: Sequence[float], epochs: int) -> tuple[int, ...]:
    """Fractions of a run of `epochs` epochs -> the epochs at which the rate steps down."""
    return tuple(round(f * epochs) for f in fractions)


def step_lr(base: float, epoch: int, milestones: Sequence[int], factor: float) -> float:
    """base * factor^(number of milestones reached by `epoch`, counted from 0)."""
    return base * factor ** sum(epoch >= m for m in milestones)


def set_lr(optimiser, lr: float) -> None:
    for group in optimiser.param_groups:
        group["lr"] = lr


def linear_lr(base: float, step: int, total: int) -> float:
    """base * (1 - step / total), floored at 0: the rate falls linearly to zero at the run's last step."""
    return base * max(0.0, 1.0 - step / max(total, 1))


def warmup_lr(lr: float, step: int, warmup_steps: int) -> float:
    """lr * (step + 1) / warmup_steps over the first `warmup_steps` steps (counted from 0), then lr."""
    return lr * min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else lr


def cosine_lr(base: float, step: int, total: int) -> float:
    """base * (1 + cos(pi * step / total)) / 2: from the rate at the first step to zero at the last."""
    import math

    return base * 0.5 * (1.0 + math.cos(math.pi * min(step, total) / max(total, 1)))


DECAYS = ("constant", "cosine", "linear")


def decayed_lr(base: float, decay: str, step: int, total: int, warmup_steps: int = 0) -> float:
    """The rate at `step` of `total`: `base` held (constant), or decayed to zero at the end by a cosine or linearly,
    after a linear warm-up over the first `warmup_steps` steps."""
    rate = {"constant": base, "cosine": cosine_lr(base, step, total), "linear": linear_lr(base, step, total)}[decay]
    return warmup_lr(rate, step, warmup_steps)
