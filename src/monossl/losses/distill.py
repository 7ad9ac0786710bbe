"""Knowledge distillation (Hinton et al. 2015): the KL divergence between softened teacher and student outputs."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T^2 * KL(softmax(teacher / T) || softmax(student / T)), averaged over the batch; T^2 keeps the gradient's
    scale independent of T. Zero when the logits agree up to a constant per row.

    Shape: (B, C), (B, C) -> scalar."""
    t = float(temperature)
    log_student = F.log_softmax(student_logits.float() / t, dim=1)
    log_teacher = F.log_softmax(teacher_logits.float() / t, dim=1)
    return F.kl_div(log_student, log_teacher, reduction="batchmean", log_target=True) * t * t


def agreement(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """Share of rows where the student's top class is the teacher's (a tensor in [0, 1])."""
    return (student_logits.argmax(1) == teacher_logits.argmax(1)).float().mean()
