"""Statistics over repeated measurements, in one place: mean and sample standard deviation over seeds, and the
pooled spread of several repeated rows (the noise margin of the reports)."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np


def mean_std(values: Iterable[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof = 1; 0.0 for a single value) of repeated measurements.

    Raises:
        ValueError: no values."""
    x = np.asarray(list(values), dtype=np.float64)
    if x.size == 0:
        raise ValueError("mean_std of no values")
    return float(x.mean()), float(x.std(ddof=1)) if x.size > 1 else 0.0


def over_seeds(per_seed: Mapping[object, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """{seed: {name: value}} -> {"mean": {name: ...}, "std": {name: ...}}, names taken from the first seed."""
    seeds = list(per_seed.values())
    out: dict[str, dict[str, float]] = {"mean": {}, "std": {}}
    for name in seeds[0]:
        out["mean"][name], out["std"][name] = mean_std(s[name] for s in seeds)
    return out


def pooled_std(groups: Iterable[tuple[int, float]]) -> float | None:
    """Pooled standard deviation of groups given as (count, sample std): sqrt(sum (n-1) s^2 / sum (n-1)); None
    when no group has more than one value."""
    num = den = 0.0
    for n, s in groups:
        if n > 1:
            num += (n - 1) * s * s
            den += n - 1
    return math.sqrt(num / den) if den else None
