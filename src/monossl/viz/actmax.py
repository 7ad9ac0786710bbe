"""Activation maximisation (Fig. 5, left) in the spirit of Lucid.

The image is parameterised in a decorrelated space: a Fourier spectrum scaled by 1/frequency
(so the optimiser moves all frequencies at a similar pace) and colours decorrelated with Lucid's
ImageNet colour-correlation square root. Each step applies random jitter, scale and rotation
(kornia's RandomAffine, plus a random shift) so only robust patterns survive. The objective is the
unit's mean activation over positions (Lucid's "channel" objective).
"""
from __future__ import annotations

import kornia.augmentation as K
import sys

import torch
import torch.nn.functional as F
from tqdm import tqdm

from monossl.seeding import derive_seed, generator as generator_for, rng
from monossl.viz.common import frozen_trunk, to_input

# Lucid's colour-correlation square root for ImageNet, normalised by its largest column norm
COLOR_CORRELATION = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
COLOR_CORRELATION = COLOR_CORRELATION / COLOR_CORRELATION.norm(dim=0).max()


class FourierImage(torch.nn.Module):
    """Images as 1/f-scaled Fourier coefficients in a decorrelated colour space, mapped to [0, 1]."""

    def __init__(self, n: int, size: int, generator: torch.Generator, decay: float = 1.0):
        super().__init__()
        fy = torch.fft.fftfreq(size)[:, None]
        fx = torch.fft.rfftfreq(size)[None, :]
        freq = torch.sqrt(fx * fx + fy * fy).clamp_min(1.0 / size)
        self.register_buffer("scale", size / freq ** decay)  # Lucid's 1/f scaling times sqrt(w*h)
        self.spectrum = torch.nn.Parameter(torch.randn(n, 3, size, size // 2 + 1, 2, generator=generator) * 0.01)
        self.size = size

    def forward(self) -> torch.Tensor:
        spectrum = torch.view_as_complex(self.spectrum) * self.scale
        image = torch.fft.irfft2(spectrum, s=(self.size, self.size)) / 4
        image = torch.einsum("nchw,dc->ndhw", image, COLOR_CORRELATION)
        return torch.sigmoid(image)


def activation_maximisation(trunk_spec, layer: str, units: list[int] | None = None, size: int = 128, steps: int = 256,
                            lr: float = 0.05, seed: int = 0, arch: str | None = None, progress: bool = True) -> tuple[torch.Tensor, list[int]]:
    """Optimise one image per unit to maximise its mean activation at `layer`. Returns [0, 1] images (N, 3, S, S)."""
    trunk, input_norm = frozen_trunk(trunk_spec, arch, seed)
    trunk.check_taps([layer])
    channels = trunk.tap_shapes([layer])[layer][0]
    if units is None:
        units = sorted(rng(seed, "units").choice(channels, size=min(8, channels), replace=False).tolist())
    bad = [u for u in units if not 0 <= u < channels]
    if bad:
        from monossl.errors import OptionError

        raise OptionError("units", bad, f"{layer} has units 0..{channels - 1}")
    generator = generator_for(seed, "actmax")
    torch.manual_seed(derive_seed(seed, "actmax-torch"))
    image = FourierImage(len(units), size, generator)
    pad = size // 16
    transforms = K.AugmentationSequential(K.RandomAffine(degrees=10, scale=(0.9, 1.1), p=1.0))
    optimiser = torch.optim.Adam(image.parameters(), lr=lr)
    index = torch.arange(len(units))
    for _ in tqdm(range(steps), desc=f"actmax {layer}", disable=not (progress and sys.stderr.isatty()), leave=False):
        x = F.pad(image(), (pad,) * 4, mode="reflect")
        dx, dy = torch.randint(-pad, pad + 1, (2,), generator=generator).tolist()
        x = torch.roll(x, (dy, dx), dims=(2, 3))[..., pad:pad + size, pad:pad + size]
        feats = trunk(to_input(transforms(x), input_norm), [layer])[layer]
        objective = feats[index, torch.tensor(units)].mean(dim=(1, 2)).sum()
        optimiser.zero_grad(set_to_none=True)
        (-objective).backward()
        optimiser.step()
    return image().detach(), list(units)


@torch.no_grad()
def unit_activation(trunk_spec, layer: str, images01: torch.Tensor, units: list[int], arch: str | None = None) -> torch.Tensor:
    """Mean activation of each unit on each image: (N, len(units)), with image i scored for unit i."""
    trunk, input_norm = frozen_trunk(trunk_spec, arch)
    feats = trunk(to_input(images01, input_norm), [layer])[layer]
    return feats[:, units].mean(dim=(2, 3))


def actmax_command(options) -> str:
    """`monossl viz actmax TRUNK --layer L --out PNG`."""
    from monossl.viz.common import png_target, run_name
    from monossl.viz.figures import save_panels

    out = png_target(options.out)
    images, units = activation_maximisation(options.trunk, options.layer, list(options.units) or None, size=options.size,
                                            steps=options.steps, seed=options.seed, arch=options.arch)
    panels = [(f"{options.layer}:{u}", img.permute(1, 2, 0).numpy()) for u, img in zip(units, images)]
    save_panels(panels, out, title=f"activation maximisation, {run_name(options.trunk)}", ncol=min(4, len(panels)))
    return f"wrote {out}"
