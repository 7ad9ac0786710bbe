"""The one seeding rule: every random stream of a run is `derive_seed(seed, key, ...)`.

Sub-seeds come from `numpy.random.SeedSequence` over the run's seed and the stream's keys (a name,
an epoch, a rank...), so two streams never collide and no seed is a hand-made mix of others.
"""
from __future__ import annotations

import hashlib

import numpy as np


def _word(key: int | str) -> int:
    if isinstance(key, str):
        return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")
    if key < 0:
        raise ValueError(f"seed keys must be non-negative, got {key}")
    return int(key)


def derive_seed(seed: int, *keys: int | str) -> int:
    """A 32-bit seed (what every library accepts) for the stream named by `keys` under the run's `seed`."""
    words = [_word(seed)] + [_word(k) for k in keys]
    return int(np.random.SeedSequence(words).generate_state(1, np.uint32)[0])


def generator(seed: int, *keys: int | str):
    """A torch.Generator seeded with `derive_seed(seed, *keys)`."""
    import torch

    return torch.Generator().manual_seed(derive_seed(seed, *keys))


def rng(seed: int, *keys: int | str) -> np.random.Generator:
    """A NumPy generator seeded with `derive_seed(seed, *keys)`."""
    return np.random.default_rng(derive_seed(seed, *keys))


def check_seeds(seeds: list[int]) -> list[int]:
    """The seeds of a repeated measurement (`--seeds`): distinct and non-negative, or a one-line error."""
    from monossl.errors import UserError

    if len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise UserError(f"--seeds {','.join(map(str, seeds))}: give distinct non-negative seeds")
    return list(seeds)
