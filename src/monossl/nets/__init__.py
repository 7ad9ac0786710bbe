"""Trunks with named taps (conv1..convK after each ReLU), a registry, and checkpoint I/O."""
from monossl.nets.trunk import Trunk, absorb_batchnorm, prepare_input
from monossl.nets.cifar import CifarTrunk
from monossl.nets.alexnet import AlexNet
from monossl.nets.registry import ARCHS, build_trunk, load_trunk, save_trunk

__all__ = ["Trunk", "absorb_batchnorm", "prepare_input", "CifarTrunk", "AlexNet", "ARCHS", "build_trunk", "load_trunk", "save_trunk"]
