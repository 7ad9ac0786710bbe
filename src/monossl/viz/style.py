"""Gatys et al. (2016) style transfer with any trunk's features (Fig. 6).

Style: Gram matrices on conv1..conv5 (conv1..conv4 on the CIFAR trunk); content: one middle layer
(conv3 on AlexNet, conv2 on the CIFAR trunk). Each term is divided by its target's energy, so the
weights mean the same for any trunk, however large its activations. The image, initialised from the
content, is optimised with L-BFGS. Works with a single-image trunk, a random one, or a converted published AlexNet.
"""
from __future__ import annotations

import sys

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from monossl.data.sources import decode_image
from monossl.seeding import derive_seed
from monossl.viz.common import frozen_trunk, to_input


def gram(features: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, C) Gram matrices normalised by C*H*W."""
    b, c, h, w = features.shape
    f = features.reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def load_rgb01(path, size: int) -> torch.Tensor:
    """An image file, shorter side resized to `size` and centre-cropped: (1, 3, S, S) in [0, 1]."""
    img = Image.fromarray(decode_image(path))
    scale = size / min(img.size)
    img = img.resize((max(size, round(img.width * scale)), max(size, round(img.height * scale))), Image.BICUBIC)
    x, y = (img.width - size) // 2, (img.height - size) // 2
    array = np.asarray(img.crop((x, y, x + size, y + size)), dtype=np.float32) / 255
    return torch.from_numpy(array).permute(2, 0, 1)[None].contiguous()


def default_layers(tap_names: list[str]) -> tuple[list[str], str]:
    return tap_names, "conv2" if len(tap_names) == 4 else "conv3"


def style_transfer(trunk_spec, content: torch.Tensor, style: torch.Tensor, style_layers: list[str] | None = None,
                   content_layer: str | None = None, style_weight: float = 10.0, content_weight: float = 1.0,
                   steps: int = 50, arch: str | None = None, seed: int = 0, progress: bool = True) -> tuple[torch.Tensor, list[float]]:
    """Returns the stylised image (1, 3, H, W) in [0, 1] and the total loss after each L-BFGS step."""
    torch.manual_seed(derive_seed(seed, "style"))
    trunk, input_norm = frozen_trunk(trunk_spec, arch, seed)
    defaults = default_layers(trunk.tap_names)
    style_layers = trunk.check_taps(style_layers or defaults[0])
    content_layer = trunk.check_taps([content_layer or defaults[1]])[0]
    taps = sorted(set(style_layers) | {content_layer}, key=trunk.tap_names.index)
    with torch.no_grad():
        style_grams = {t: gram(v) for t, v in trunk(to_input(style, input_norm), taps).items() if t in style_layers}
        content_target = trunk(to_input(content, input_norm), [content_layer])[content_layer]
    image = content.clone().contiguous().requires_grad_(True)
    optimiser = torch.optim.LBFGS([image], lr=1.0, max_iter=10, history_size=20, line_search_fn="strong_wolfe")
    history: list[float] = []

    def closure():
        optimiser.zero_grad(set_to_none=True)
        feats = trunk(to_input(image.clamp(0, 1), input_norm), taps)
        loss_style = sum((gram(feats[t]) - style_grams[t]).pow(2).sum() / style_grams[t].pow(2).sum() for t in style_layers)
        loss_content = (feats[content_layer] - content_target).pow(2).sum() / content_target.pow(2).sum()
        loss = style_weight * loss_style + content_weight * loss_content
        loss.backward()
        return loss

    for _ in tqdm(range(steps), desc="style", disable=not (progress and sys.stderr.isatty()), leave=False):
        history.append(float(optimiser.step(closure).detach()))
    return image.detach().clamp(0, 1), history


def style_command(options) -> str:
    """`monossl style CONTENT STYLE --features TRUNK --out PNG`."""
    from monossl.viz.common import png_target, run_name
    from monossl.viz.figures import save_panels

    out = png_target(options.out)
    content, style = load_rgb01(options.content, options.size), load_rgb01(options.style, options.size)
    panels = [("content", content[0].permute(1, 2, 0).numpy()), ("style", style[0].permute(1, 2, 0).numpy())]
    for label in [options.features] + ([options.compare] if options.compare else []):
        image, history = style_transfer(label, content, style, list(options.style_layers) or None, options.content_layer,
                                        options.style_weight, options.content_weight, options.steps, arch=options.arch,
                                        seed=options.seed)
        panels.append((f"{run_name(label)}: loss {history[0]:.3g} -> {history[-1]:.3g}", image[0].permute(1, 2, 0).numpy()))
    save_panels(panels, out, title="Gatys style transfer", tile_inches=3.0)
    return f"wrote {out}"
