"""The methods' objectives, one per file, as pure functions (as lightly's `loss/`)."""
from monossl.losses.bigan import bigan_losses
from monossl.losses.rotation import rotate_batch, rotation_loss
from monossl.losses.wgan_gp import critic_loss, generator_loss, gradient_penalty

__all__ = ["bigan_losses", "rotate_batch", "rotation_loss", "critic_loss", "generator_loss", "gradient_penalty"]
