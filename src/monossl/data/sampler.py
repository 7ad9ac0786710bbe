"""The paper's augmentation protocol (§3.1): N source images -> any number of S x S patches.

For patch i:
  1. its source is `i mod N` (every source gets an equal share of the d patches);
  2. an angle a ~ U(-max_angle, max_angle) rotates the source (rotation before cropping);
  3. a box w x h with beta <= wh/(WH) <= 1 and gamma <= h/w <= 1/gamma is placed inside the rotated
     image's interior, so no pixel from outside the source ever enters a patch (areas are drawn
     uniformly, aspect ratios log-uniformly, as in RandomResizedCrop; draws that do not fit are
     redrawn);
  4. the box is flipped left-right with p = 0.5 and resampled to S x S, antialiased: pixels are
     read bilinearly from a 2x2-box mipmap of the source, at the finest level where one output
     pixel covers at most one texel (a 2000-px crop shown at 32 px reads the level averaged over
     64 x 64 pixels). This never aliases; the price is up to 2x more blur than an ideal filter.
     `resample="supersample"` reads SUPERSAMPLE = 2 levels finer (at most 4 texels per output pixel
     and axis) at 4 x 4 points per output pixel and averages them: a box filter one output pixel wide,
     as sharp as an antialiased bilinear resize, at 16x the reads (docs/research/sharper-patches.md);
  5. colour jitter: brightness, contrast and saturation factors ~ U(0.6, 1.4) and a hue shift
     ~ U(-0.1, 0.1) of the hue circle, composed into one linear map in RGB (the hue shift is a
     rotation about the gray axis in YIQ), clipped once at the end.

"Scale off" (Table 1's "No aug."): the box is the largest one with the source's aspect ratio that
fits the rotated source, centred, which is the whole image when rotation is off as well.

Patch i depends only on (seed, i): parameters are drawn in blocks of `BLOCK` indices from a
generator keyed by (seed, block), and pixels are computed independently per patch. The same seed
therefore gives byte-identical patches whatever the batch size or the number of workers.
"""
from __future__ import annotations

import math
import warnings
from collections import OrderedDict

import numpy as np
import torch

from monossl.data.augment import AugmentConfig
from monossl.errors import UserError
from monossl.seeding import block_rng

BLOCK = 4096
SUPERSAMPLE = 2  # supersample: read 2**SUPERSAMPLE x 2**SUPERSAMPLE points, that many levels finer
REDRAW_ROUNDS = 64
LUMA = np.array([0.299, 0.587, 0.114])
RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def pyramid_shapes(width: int, height: int) -> list[tuple[int, int]]:
    """(w, h) of every 2x2-box mipmap level, down to a single pixel (odd sides round up)."""
    shapes = [(width, height)]
    while max(shapes[-1]) > 1:
        w, h = shapes[-1]
        shapes.append(((w + 1) // 2, (h + 1) // 2))
    return shapes


def box_reduce(src: np.ndarray, dst: np.ndarray, strip: int = 128) -> None:
    """dst = 2x2 box average of src (uint8 HxWx4), in strips to bound memory; odd edges repeat the last pixel."""
    h, w = src.shape[:2]
    cols = [np.minimum(np.arange(dst.shape[1]) * 2 + d, w - 1) for d in (0, 1)]
    for top in range(0, dst.shape[0], strip):
        rows = np.arange(top, min(top + strip, dst.shape[0])) * 2
        acc = np.zeros((len(rows), dst.shape[1], 3), np.uint16)
        for dy in (0, 1):
            band = src[np.minimum(rows + dy, h - 1), :, :3]
            for dx in (0, 1):
                acc += band[:, cols[dx]]
        dst[top:top + len(rows), :, :3] = (acc + 2) >> 2


class PatchSampler:
    """Turns source images into patches following §3.1. Call `patches(indices)` for uint8 (B, S, S, 3)."""

    def __init__(self, images: list[np.ndarray], config: AugmentConfig = AugmentConfig(), seed: int = 0,
                 names: list[str] | None = None):
        self.config = config.validate()
        self.seed = int(seed)
        self.names = names or [f"source{i}" for i in range(len(images))]
        if not images:
            raise UserError("no source images given")
        self.source_sizes = np.array([(im.shape[1], im.shape[0]) for im in images], dtype=np.float64)  # (W, H)
        for im, name in zip(images, self.names):
            self.check_feasible(im.shape[1], im.shape[0], name)
        small = [n for im, n in zip(images, self.names) if min(im.shape[:2]) < config.size]
        if small:
            warnings.warn(f"{small[0]}{' and others' if len(small) > 1 else ''}: smaller than the patch size "
                          f"{config.size}; patches will be upsampled", stacklevel=2)
        self._build_table(images)
        self._blocks: OrderedDict[int, dict] = OrderedDict()

    def check_feasible(self, width: int, height: int, name: str) -> None:
        """Raise when no axis-aligned box satisfies both beta and gamma (very thin images)."""
        g = self.config.gamma
        ratio = min(max(height / width, g), 1 / g)
        w = min(width, height / ratio)
        h = w * ratio
        if self.config.scale and w * h < self.config.beta * width * height * (1 - 1e-9):
            raise UserError(f"{name}: {width}x{height} is too thin: no crop has area >= beta={self.config.beta} "
                            f"and aspect within gamma={g}; lower --beta or --gamma, or pad the image")

    def _build_table(self, images: list[np.ndarray]) -> None:
        """Write every mipmap level of every source into one flat table of packed pixels.

        The table is allocated once and filled level by level, so memory peaks near 1.8x the
        decoded sources (4 bytes a pixel, 4/3 for the levels) instead of holding copies.
        """
        shapes = [pyramid_shapes(im.shape[1], im.shape[0]) for im in images]
        self.num_levels = [len(levels) for levels in shapes]
        depth = max(self.num_levels)
        self.level_table = torch.zeros(len(images), depth, 3, dtype=torch.int64)  # (offset, w, h)
        offset = 0
        for s, levels in enumerate(shapes):
            for level in range(depth):
                w, h = levels[min(level, len(levels) - 1)]
                self.level_table[s, level] = torch.tensor([offset if level < len(levels) else self.level_table[s, level - 1, 0], w, h])
                if level < len(levels):
                    offset += w * h
        table = np.zeros(offset, np.int32)  # one pixel per int32, 0x00BBGGRR: one gather reads all of it
        channels = table.view(np.uint8).reshape(-1, 4)
        for s, im in enumerate(images):
            start, w, h = self.level_table[s, 0].tolist()
            channels[start:start + w * h, :3] = im.reshape(-1, 3)
            for level in range(1, self.num_levels[s]):
                prev_start, pw, ph = self.level_table[s, level - 1].tolist()
                start, w, h = self.level_table[s, level].tolist()
                previous = channels[prev_start:prev_start + pw * ph].reshape(ph, pw, 4)
                box_reduce(previous, channels[start:start + w * h].reshape(h, w, 4))
        self.pixels = torch.from_numpy(table)

    # -- parameters --------------------------------------------------------------------------
    def params(self, indices: np.ndarray) -> dict[str, np.ndarray]:
        """Augmentation parameters for the given patch indices (a pure function of seed and index)."""
        indices = np.asarray(indices, dtype=np.int64)
        out = {}
        for block in np.unique(indices // BLOCK):
            sel = indices // BLOCK == block
            table = self._block(int(block))
            for key, value in table.items():
                out.setdefault(key, np.empty((len(indices),) + value.shape[1:], value.dtype))[sel] = value[indices[sel] % BLOCK]
        return out

    def _block(self, block: int) -> dict[str, np.ndarray]:
        if block in self._blocks:
            self._blocks.move_to_end(block)
            return self._blocks[block]
        table = self._draw_block(block)
        self._blocks[block] = table
        if len(self._blocks) > 4:
            self._blocks.popitem(last=False)
        return table

    def _draw_block(self, block: int) -> dict[str, np.ndarray]:
        cfg = self.config
        rng = block_rng(self.seed, block)
        n = BLOCK
        index = block * BLOCK + np.arange(n)
        source = index % len(self.names)
        W, H = self.source_sizes[source, 0], self.source_sizes[source, 1]
        max_angle = math.radians(cfg.max_angle) if cfg.rotation else 0.0
        angle = rng.uniform(-max_angle, max_angle, n) if cfg.rotation else np.zeros(n)
        c, s = np.abs(np.cos(angle)), np.abs(np.sin(angle))
        if cfg.scale:
            w, h, cx, cy = self._draw_boxes(rng, W, H, angle)
        else:
            k = np.minimum(W / (W * c + H * s), H / (W * s + H * c))
            w, h, cx, cy = k * W, k * H, W / 2, H / 2
        flip = rng.random(n) < 0.5 if cfg.flip else np.zeros(n, bool)
        if cfg.jitter:
            b = rng.uniform(*cfg.brightness, n)
            ct = rng.uniform(*cfg.contrast, n)
            sat = rng.uniform(*cfg.saturation, n)
            hue = rng.uniform(*cfg.hue, n)
        else:
            b = ct = sat = np.ones(n)
            hue = np.zeros(n)
        return dict(source=source, angle=angle, w=w, h=h, cx=np.broadcast_to(cx, (n,)).copy(),
                    cy=np.broadcast_to(cy, (n,)).copy(), flip=flip, brightness=b, contrast=ct,
                    saturation=sat, hue=hue)

    def _draw_boxes(self, rng, W, H, angle):
        """Draw boxes (area, aspect) that fit the rotated source, redrawing those that do not."""
        cfg = self.config
        n = len(angle)
        w, h = np.zeros(n), np.zeros(n)
        todo = np.arange(n)
        c, s = np.abs(np.cos(angle)), np.abs(np.sin(angle))
        for _ in range(REDRAW_ROUNDS):
            area = rng.uniform(cfg.beta, 1.0, len(todo)) * W[todo] * H[todo]
            ratio = np.exp(rng.uniform(math.log(cfg.gamma), -math.log(cfg.gamma), len(todo)))
            tw, th = np.sqrt(area / ratio), np.sqrt(area * ratio)
            fits = (tw * c[todo] + th * s[todo] <= W[todo]) & (tw * s[todo] + th * c[todo] <= H[todo])
            w[todo[fits]], h[todo[fits]] = tw[fits], th[fits]
            todo = todo[~fits]
            if not len(todo):
                break
        if len(todo):  # thin sources: the largest feasible box, unrotated
            angle[todo] = 0.0
            c[todo], s[todo] = 1.0, 0.0
            ratio = np.clip(H[todo] / W[todo], cfg.gamma, 1 / cfg.gamma)
            w[todo] = np.minimum(W[todo], H[todo] / ratio)
            h[todo] = w[todo] * ratio
        ex = (w * c + h * s) / 2  # half extents of the rotated box's bounding box
        ey = (w * s + h * c) / 2
        cx = rng.uniform(0, 1, n) * (W - 2 * ex) + ex
        cy = rng.uniform(0, 1, n) * (H - 2 * ey) + ey
        return w, h, cx, cy

    # -- pixels ------------------------------------------------------------------------------
    def patches(self, indices, chunk_pixels: int = 1 << 16) -> np.ndarray:
        """uint8 patches of shape (len(indices), S, S, 3), computed in memory-bounded chunks."""
        indices = np.asarray(indices, dtype=np.int64)
        S = self.config.size
        out = np.empty((len(indices), S, S, 3), np.uint8)
        step = max(1, chunk_pixels // (S * S))
        for start in range(0, len(indices), step):
            sel = indices[start:start + step]
            out[start:start + len(sel)] = self._render(self.params(sel)).numpy()
        return out

    def _render(self, p: dict[str, np.ndarray]) -> torch.Tensor:
        """(B, S, S, 3) uint8 for one chunk. Pixels stay planar, (B, 3, S*S), until the end: fastest on CPU."""
        S = self.config.size
        B = len(p["w"])
        source = torch.from_numpy(p["source"])
        top = torch.tensor(self.num_levels)[source] - 1
        footprint = np.maximum(p["w"], p["h"]) / S   # source pixels per output pixel
        # the finest level where one output pixel spans at most one texel: no aliasing, one read
        level = torch.from_numpy(np.ceil(np.log2(np.maximum(footprint, 1.0)) - 1e-6).astype(np.int64)).minimum(top)
        if self.config.resample == "mip":
            rgb = self._bilinear(source, level, *self._coords(p, 0.0, 0.0))
        else:  # SUPERSAMPLE levels finer, n x n reads spread evenly over the output pixel, averaged
            n = 2 ** SUPERSAMPLE
            finer = (level - SUPERSAMPLE).clamp(min=0)
            offsets = [(i + 0.5) / n - 0.5 for i in range(n)]
            rgb = sum(self._bilinear(source, finer, *self._coords(p, du, dv)) for du in offsets for dv in offsets) / n ** 2
        rgb = self._jitter(rgb, p)
        return rgb.clamp_(0, 255).round_().to(torch.uint8).view(B, 3, S, S).permute(0, 2, 3, 1).contiguous()

    def _coords(self, p: dict[str, np.ndarray], du: float, dv: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Source coordinates (B, S*S) of every output pixel's centre, shifted by (du, dv) output pixels."""
        S = self.config.size
        col = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[:, None]  # noqa: E731
        grid = (torch.arange(S, dtype=torch.float32) + 0.5) / S - 0.5
        u = grid.repeat(S)[None, :] + du / S          # output x, row-major
        v = grid.repeat_interleave(S)[None, :] + dv / S
        u = torch.where(torch.from_numpy(p["flip"])[:, None], -u, u)
        bw, bh = col(p["w"]) * u, col(p["h"]) * v
        cos, sin = col(np.cos(p["angle"])), col(np.sin(p["angle"]))
        return col(p["cx"]) + cos * bw - sin * bh, col(p["cy"]) + sin * bw + cos * bh  # pixel centres at +0.5

    def _bilinear(self, source, level, x, y) -> torch.Tensor:
        """Read planar float pixels (B, 3, S*S) at source coordinates, from one pyramid level per patch."""
        offset, w, h = self.level_table[source, level].unbind(-1)
        W, H = torch.from_numpy(self.source_sizes[source.numpy()].astype(np.float32)).unbind(-1)
        xl = x * (w.float() / W)[:, None] - 0.5
        yl = y * (h.float() / H)[:, None] - 0.5
        x0, y0 = xl.floor(), yl.floor()
        fx, fy = (xl - x0)[:, None], (yl - y0)[:, None]
        wmax, hmax = (w - 1)[:, None], (h - 1)[:, None]
        x0, y0 = x0.long(), y0.long()
        xa, xb = x0.clamp(min=0).minimum(wmax), (x0 + 1).clamp(min=0).minimum(wmax)
        row_a = offset[:, None] + y0.clamp(min=0).minimum(hmax) * w[:, None]
        row_b = offset[:, None] + (y0 + 1).clamp(min=0).minimum(hmax) * w[:, None]
        read = lambda row, column: unpack_rgb(self.pixels[row + column])  # noqa: E731
        upper = torch.lerp(read(row_a, xa), read(row_a, xb), fx)
        lower = torch.lerp(read(row_b, xa), read(row_b, xb), fx)
        return torch.lerp(upper, lower, fy)

    def _jitter(self, rgb: torch.Tensor, p: dict[str, np.ndarray]) -> torch.Tensor:
        """Brightness, contrast, saturation and hue as one affine map per patch: y = M x + t."""
        if not self.config.jitter:
            return rgb
        matrix = torch.from_numpy(jitter_matrices(p["brightness"], p["contrast"], p["saturation"], p["hue"]))
        luma = torch.from_numpy(LUMA.astype(np.float32))
        mean_gray = (luma[None, :, None] * rgb).sum(1).mean(1)  # (B,)
        shift = (1 - torch.from_numpy(p["contrast"].astype(np.float32))) * torch.from_numpy(
            p["brightness"].astype(np.float32)) * mean_gray
        return torch.baddbmm(shift[:, None, None].expand(-1, 3, 1), matrix, rgb)


def unpack_rgb(packed: torch.Tensor) -> torch.Tensor:
    """int32 packed pixels (B, n) -> planar float (B, 3, n)."""
    channels = packed.unsqueeze(-1).view(torch.uint8)  # (B, n, 4), RGBX
    planar = torch.empty(packed.shape[0], 3, packed.shape[1])
    for c in range(3):
        planar[:, c] = channels[..., c]
    return planar


def jitter_matrices(brightness, contrast, saturation, hue) -> np.ndarray:
    """3x3 float32 matrices M = c*b * Hue(h) @ Sat(s); the contrast offset is added by the caller."""
    n = len(brightness)
    sat = saturation[:, None, None] * np.eye(3) + (1 - saturation)[:, None, None] * np.outer(np.ones(3), LUMA)
    theta = -2 * np.pi * np.asarray(hue)  # positive shifts move red towards yellow, as in HSV
    rot = np.zeros((n, 3, 3))
    rot[:, 0, 0] = 1
    rot[:, 1, 1], rot[:, 1, 2] = np.cos(theta), -np.sin(theta)
    rot[:, 2, 1], rot[:, 2, 2] = np.sin(theta), np.cos(theta)
    hue_m = np.linalg.inv(RGB_TO_YIQ) @ rot @ RGB_TO_YIQ
    gain = (np.asarray(contrast) * np.asarray(brightness))[:, None, None]
    return (gain * hue_m @ sat).astype(np.float32)
