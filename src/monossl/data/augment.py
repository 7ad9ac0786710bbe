"""The §3.1 augmentation protocol's settings (`AugmentConfig`), every constant defaulting to the paper."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from monossl.errors import OptionError
from monossl.options import Options, option

RESAMPLE = ("mip", "supersample")


@dataclass(frozen=True)
class AugmentConfig(Options):
    """How patches are cut from a source image (§3.1); `monossl.data.sampler.PatchSampler` draws them."""

    size: int = option(32, "patch side S in pixels", low=1)
    beta: float = option(1e-3, "smallest crop area, as a fraction of the source's", above=0, high=1)
    gamma: float = option(0.75, "aspect-ratio bound: gamma <= h/w <= 1/gamma", above=0, high=1)
    max_angle: float = option(35.0, "rotation angle bound in degrees", low=0, below=90)
    brightness: tuple[float, float] = option((0.6, 1.4), "colour jitter: brightness factor range", low=0)
    contrast: tuple[float, float] = option((0.6, 1.4), "colour jitter: contrast factor range", low=0)
    saturation: tuple[float, float] = option((0.6, 1.4), "colour jitter: saturation factor range", low=0)
    hue: tuple[float, float] = option((-0.1, 0.1), "colour jitter: hue shift range, in turns of the hue circle",
                                      low=-0.5, high=0.5)
    scale: bool = option(True, "scale off: crop the largest box of the source's aspect ratio (Table 1 'No aug.')")
    rotation: bool = option(True, "switch rotation off")
    jitter: bool = option(True, "switch colour jitter off")
    flip: bool = option(True, "switch left-right flips off")
    resample: str = option("mip", "mip: one bilinear read from the mipmap level; supersample: 4x4 reads two levels "
                           "finer (sharper, 16x the reads)", choices=RESAMPLE)

    def validate(self) -> "AugmentConfig":
        """Checks across fields (each field's own range is declared on it)."""
        for name in ("brightness", "contrast", "saturation", "hue"):
            low, high = getattr(self, name)
            if low > high:
                raise OptionError(name, getattr(self, name), "give low,high with low <= high")
        return self

    def to_dict(self) -> dict:
        return asdict(self)
