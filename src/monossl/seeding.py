"""The one seeding rule: every random stream of a run is named by the run's seed and a key path (a name, an
epoch, a rank, an index...), and drawn from `numpy.random.SeedSequence` over those words, so two streams never
collide and no seed is a hand-made mix of others. Every random draw of monossl goes through this module:

* `derive_seed(seed, *keys)`: the stream as one 32-bit seed, for what takes an integer (torch, faiss, Fabric);
* `rng(seed, *keys)` / `generator(seed, *keys)`: NumPy / torch generators seeded with it;
* `block_rng(seed, block)`: the patch sampler's per-block stream, drawn from SeedSequence([seed, block]) directly;
* `init_generator(seed)`: a trunk's weight init at seed s (the `random` baselines' draw, and where a run at seed s
  starts), and the GANs' fixed sample noise: seeded with s itself. These streams keep the bytes of the first
  release, so published tables reproduce exactly.
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


def block_rng(seed: int, block: int) -> np.random.Generator:
    """The sampler's stream for patches [block * BLOCK, (block + 1) * BLOCK) under `seed`."""
    return np.random.default_rng(np.random.SeedSequence([_word(seed), _word(block)]))


def init_generator(seed: int | None):
    """The torch generator of a weight init (or fixed sample noise) drawn at `seed`; None: the global stream."""
    import torch

    return torch.Generator().manual_seed(int(seed)) if seed is not None else None


def check_seeds(seeds: list[int]) -> list[int]:
    """The seeds of a repeated measurement (`--seeds`): distinct and non-negative, or a one-line error."""
    from monossl.errors import UserError

    if len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise UserError(f"--seeds {','.join(map(str, seeds))}: give distinct non-negative seeds")
    return list(seeds)
