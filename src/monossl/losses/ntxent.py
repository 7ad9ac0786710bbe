"""SimCLR's NT-Xent (Chen et al. 2020): the normalised, temperature-scaled cross-entropy over a batch of view pairs."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """Each of the 2B projections must pick its partner view among the other 2B - 1 by cosine similarity / T.

    Shape: (B, D), (B, D) -> scalar, the mean over the 2B anchors of -log softmax(sim / T)[partner]. Its minimum
    for B pairs is reached when each pair coincides and differs from every other view."""
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    n = len(z1)
    logits = z @ z.t() / temperature
    logits.fill_diagonal_(float("-inf"))  # a view is never its own partner
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits, partner)
