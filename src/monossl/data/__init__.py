"""Data: source images, the §3.1 patch sampler, patch datasets, CIFAR and image folders."""
from monossl.data.sampler import AugmentConfig, PatchSampler
from monossl.data.patches import PatchDataset, materialise, load_patch_dir
from monossl.data.sources import load_sources

__all__ = ["AugmentConfig", "PatchSampler", "PatchDataset", "materialise", "load_patch_dir", "load_sources"]
