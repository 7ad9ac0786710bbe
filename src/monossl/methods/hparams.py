"""Every method's own options (§3.2), each defaulting to its paper: one dataclass a method, no torch.

A field is an option of `monossl pretrain METHOD` (its flag, its `--help` line, its key under `hparams` in
config.json); its declared range is checked wherever a value comes from. A method's loop lives in its module
(`monossl.methods.<name>`), which checks what depends on the run as a whole (`check(config, hp)`).
"""
from __future__ import annotations

from dataclasses import dataclass

from monossl.options import Options, option
from monossl.schedule import DECAYS

CRITIC_INITS = ("deepcluster", "wgan-gp", "smooth")
TRUNK_INITS = ("deepcluster", "smooth")
LR_DECAYS = ("constant", "linear")
UPSAMPLERS = ("deconv", "resize", "bilinear")


def trunk_init():
    """The `trunk_init` option of the methods whose trunk can start with conv1 drawn smooth (RotNet, DeepCluster)."""
    return option("deepcluster", "the trunk's init: deepcluster (the random rows') or smooth (conv1 drawn spatially "
                  "smooth; its random trunk is the random-smooth baseline, random-sobel-smooth behind Sobel)",
                  choices=TRUNK_INITS)


@dataclass(frozen=True)
class SGD(Options):
    """RotNet's optimiser and schedule (and the supervised row's): SGD with Nesterov momentum, the rate multiplied by
    `lr_factor` at each milestone (fractions of the run: RotNet's 30/60/80 of 100 epochs), after a linear warm-up."""

    lr: float = option(0.01, "initial learning rate (RotNet's AlexNet value; its CIFAR NIN used 0.1)", above=0)
    momentum: float = option(0.9, "SGD momentum", low=0, below=1)
    weight_decay: float = option(5e-4, "weight decay", low=0)
    nesterov: bool = option(True, "plain momentum instead of Nesterov's")
    milestones: tuple[float, ...] = option((0.3, 0.6, 0.8), "fractions of the run at which the rate steps down",
                                           low=0, high=1)
    lr_factor: float = option(0.2, "the rate's factor at each milestone", above=0, high=1)
    warmup: float = option(0.0, "epochs of linear warm-up to lr, per step (Goyal et al. 2017); 0: none", low=0)


@dataclass(frozen=True)
class RotNet(SGD):
    hidden: int | None = option(None, "classifier width: none gives a linear head on the CIFAR trunk, 4096 on AlexNet",
                                low=1)
    trunk_init: str = trunk_init()


@dataclass(frozen=True)
class Supervised(SGD):
    hidden: int | None = option(None, "classifier width: none gives a linear head on the CIFAR trunk, 4096 on AlexNet",
                                low=1)
    label_smoothing: float = option(0.0, "label smoothing of the cross-entropy (Szegedy et al. 2016); 0: none", low=0,
                                    below=1)


@dataclass(frozen=True)
class DeepCluster(Options):
    k: int = option(1000, "k-means clusters (§3.2: 1000)", low=2)
    pca_dim: int = option(256, "PCA dimensions, whitened, before k-means", low=1)
    kmeans_iters: int = option(20, "k-means iterations", low=1)
    kmeans_redo: int = option(1, "k-means restarts (the best is kept)", low=1)
    lr: float = option(0.05, "SGD learning rate", above=0)
    momentum: float = option(0.9, "SGD momentum of the trunk and MLP (the top layer's SGD has none)", low=0, below=1)
    weight_decay: float = option(1e-5, "weight decay", low=0)
    hidden: int | None = option(None, "MLP width: none gives 4096 on AlexNet, 1024 on the CIFAR trunk", low=1)
    crop_min_scale: float = option(0.08, "native random-resized crop: smallest area fraction", above=0, high=1)
    crop_gamma: float = option(0.75, "native random-resized crop: aspect-ratio bound", above=0, high=1)
    trunk_init: str = trunk_init()


@dataclass(frozen=True)
class MonoGAN(Options):
    latent: int = option(128, "generator noise dimensions", low=1)
    gen_dim: int = option(128, "generator width: 4*gen_dim channels at 4x4 (128: WGAN-GP's DCGAN-512)", low=1)
    upsample: str = option("deconv", "deconv: DCGAN's 4x4 stride-2 transposed convs; resize / bilinear: x2 then a 3x3 "
                           "conv (no checkerboards)", choices=UPSAMPLERS)
    critic_steps: int = option(5, "critic steps per generator step", low=1)
    gp_lambda: float = option(10.0, "gradient-penalty weight", low=0)
    lr: float = option(1e-4, "Adam learning rate of both nets", above=0)
    lr_decay: str = option("constant", "linear: both rates fall to zero over the run (WGAN-GP's CIFAR ResNet)",
                           choices=LR_DECAYS)
    beta1: float = option(0.5, "Adam beta1", low=0, below=1)
    beta2: float = option(0.9, "Adam beta2", low=0, below=1)
    samples: int = option(64, "generator samples drawn into samples_eNNN.png each epoch", low=1)
    critic_init: str = option("deepcluster", "the critic's init: deepcluster (the trunk's, as the random rows), wgan-gp "
                              "(the WGAN-GP code's) or smooth (conv1 drawn spatially smooth)", choices=CRITIC_INITS)


@dataclass(frozen=True)
class BiGAN(Options):
    latent: int = option(200, "latent dimensions, z ~ U(-1, 1)", low=1)
    gen_dim: int = option(64, "generator width", low=1)
    disc_dim: int = option(64, "joint discriminator width", low=1)
    lr: float = option(2e-4, "Adam learning rate", above=0)
    beta1: float = option(0.5, "Adam beta1", low=0, below=1)
    beta2: float = option(0.999, "Adam beta2", low=0, below=1)
    samples: int = option(32, "samples and reconstructions drawn each epoch", low=2)


@dataclass(frozen=True)
class Distill(Options):
    """Knowledge distillation from one image (Asano & Saeed, ICLR 2023): a random student imitates a trained
    teacher on augmented patches; no training image, no label."""

    teacher: str = option("", "the teacher: a supervised run folder (its classifier.pt) or a TorchScript classifier "
                          "file (required)", metavar="RUN_OR_FILE")
    teacher_norm: str = option("unit", "the teacher's input: unit, images in (-1, 1) as every monossl net; imagenet, "
                               "mean/std normalised as torchvision models", choices=("unit", "imagenet"))
    eval: str | None = option(None, "the labelled test set the student is scored on each epoch: cifar10, cifar100 or "
                              "folder:TRAIN_DIR,VAL_DIR (its VAL_DIR)", shown="cifar10 or cifar100, by the teacher's classes")
    temperature: float = option(8.0, "softmax temperature T of the KL loss, which is scaled by T^2 (the anchor: 8)",
                                above=0)
    hard_weight: float = option(0.0, "weight of a cross-entropy to the teacher's hard labels added to the KL loss",
                                low=0)
    cutmix: float = option(1.0, "probability that a batch is CutMixed between its own patches", low=0, high=1)
    cutmix_alpha: float = option(1.0, "CutMix's Beta(alpha, alpha) mixing weight", above=0)
    mixup: float = option(0.0, "probability that a batch is mixed up instead (applied when CutMix is not)", low=0, high=1)
    mixup_alpha: float = option(1.0, "mixup's Beta(alpha, alpha) mixing weight", above=0)
    view_padding: int = option(4, "pad-and-crop views: zero padding before the random crop (0: no crop)", low=0)
    view_flip: bool = option(True, "left-right flips of the views off")
    optimiser: str = option("adam", "adam (the anchor's) or sgd (momentum 0.9, Nesterov)", choices=("adam", "sgd"))
    lr: float = option(1e-3, "learning rate (the anchor: Adam 1e-3)", above=0)
    weight_decay: float = option(0.0, "weight decay", low=0)
    lr_decay: str = option("constant", "the rate over the run: constant, cosine (to zero at the end) or linear",
                           choices=DECAYS)
    warmup: float = option(0.0, "epochs of linear warm-up, per step", low=0)
    hidden: int | None = option(None, "student head width: none gives a linear head", low=1)

    def validate(self):
        if self.cutmix + self.mixup > 1:
            from monossl.errors import OptionError

            raise OptionError("mixup", self.mixup, f"CutMix ({self.cutmix}) and mixup are chosen per batch: their "
                              "probabilities add up to at most 1")
        return self


@dataclass(frozen=True)
class Views(Options):
    """The joint-embedding methods' view augmentation, applied per view on the batch (SimCLR's, as on CIFAR)."""

    crop_scale: tuple[float, float] = option((0.08, 1.0), "random-resized crop: area range of a view", above=0, high=1)
    jitter: float = option(0.4, "colour jitter strength (brightness, contrast, saturation; hue a quarter of it)", low=0)
    jitter_prob: float = option(0.8, "probability of the colour jitter", low=0, high=1)
    grayscale_prob: float = option(0.2, "probability of a grey view", low=0, high=1)
    blur_prob: float = option(0.0, "probability of a Gaussian blur (SimCLR on CIFAR: none)", low=0, high=1)


@dataclass(frozen=True)
class SimCLR(Views):
    """SimCLR (Chen et al. 2020): two views of each patch must find each other among the batch (NT-Xent)."""

    temperature: float = option(0.5, "NT-Xent temperature (SimCLR's CIFAR value)", above=0)
    proj_hidden: int = option(2048, "projector MLP hidden width", low=1)
    proj_dim: int = option(128, "projection dimensions", low=1)
    lr: float = option(0.06, "SGD learning rate (lightly's CIFAR benchmark; SimCLR's LARS is not used)", above=0)
    momentum: float = option(0.9, "SGD momentum", low=0, below=1)
    weight_decay: float = option(5e-4, "weight decay", low=0)
    warmup: float = option(0.0, "epochs of linear warm-up, then a cosine decay to zero", low=0)


@dataclass(frozen=True)
class DINO(Views):
    """DINO (Caron et al. 2021): a student matches a momentum teacher's centred, sharpened output across multi-crop
    views (two global views seen by both, local views by the student only)."""

    out_dim: int = option(65536, "output dimensions of the DINO head (the paper's 65536)", low=2)
    hidden: int = option(2048, "head MLP hidden width", low=1)
    bottleneck: int = option(256, "head bottleneck before the weight-normalised last layer", low=1)
    head_bn: bool = option(False, "batch norm after each hidden layer of the head (DINO's use_bn_in_head)")
    student_temp: float = option(0.1, "student softmax temperature", above=0)
    teacher_temp: float = option(0.04, "teacher softmax temperature (sharpening)", above=0)
    center_momentum: float = option(0.9, "momentum of the teacher-output centre", low=0, below=1)
    momentum: float = option(0.996, "EMA momentum of the teacher, raised to 1 by a cosine over the run", low=0, below=1)
    global_scale: tuple[float, float] = option((0.4, 1.0), "global views: crop area range", above=0, high=1)
    local_scale: tuple[float, float] = option((0.05, 0.4), "local views: crop area range", above=0, high=1)
    local_crops: int = option(8, "local views per patch", low=0)
    local_size: int | None = option(None, "local views' side in pixels", low=8, shown="96/224 of the patch side")
    lr: float = option(5e-4, "AdamW learning rate (the paper's at batch 256)", above=0)
    weight_decay: float = option(0.04, "AdamW weight decay", low=0)
    warmup: float = option(0.0, "epochs of linear warm-up, then a cosine decay to zero", low=0)
