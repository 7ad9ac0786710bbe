"""DINO (Caron et al. 2021): self-distillation with no labels. A student matches the sharpened, centred output of
a momentum (EMA) teacher across views; the pieces as pure functions."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def dino_loss(student: list[torch.Tensor], teacher: list[torch.Tensor], center: torch.Tensor, student_temp: float,
              teacher_temp: float) -> torch.Tensor:
    """Cross-entropy between the teacher's centred, sharpened softmax of each global view and the student's softmax
    of every other view, averaged over the view pairs (a view is never matched with itself).

    Shape: student: V tensors (B, K), the teacher's global views first; teacher: G tensors (B, K); center (K,) ->
    scalar."""
    targets = [F.softmax((t.float() - center) / teacher_temp, dim=1).detach() for t in teacher]
    logs = [F.log_softmax(s.float() / student_temp, dim=1) for s in student]
    total, pairs = 0.0, 0
    for i, target in enumerate(targets):
        for j, log_p in enumerate(logs):
            if i == j:
                continue
            total = total + (-target * log_p).sum(1).mean()
            pairs += 1
    return total / pairs


@torch.no_grad()
def update_center(center: torch.Tensor, teacher: list[torch.Tensor], momentum: float = 0.9) -> torch.Tensor:
    """center <- momentum * center + (1 - momentum) * the batch mean of the teacher's outputs (all global views)."""
    batch = torch.cat([t.float() for t in teacher]).mean(0)
    return center * momentum + batch * (1 - momentum)


@torch.no_grad()
def ema_update(teacher: torch.nn.Module, student: torch.nn.Module, momentum: float) -> None:
    """teacher <- momentum * teacher + (1 - momentum) * student, parameter by parameter (buffers copied)."""
    for t, s in zip(teacher.parameters(), student.parameters()):
        t.mul_(momentum).add_(s.detach(), alpha=1 - momentum)
    for t, s in zip(teacher.buffers(), student.buffers()):
        t.copy_(s)
