"""Datasets; importing this registers them in mmpretrain's ``DATASETS``."""
from .cifar10 import CIFAR10ChecksumWarning, CIFAR10DataError, LenientCIFAR10

__all__ = ['CIFAR10ChecksumWarning', 'CIFAR10DataError', 'LenientCIFAR10']
