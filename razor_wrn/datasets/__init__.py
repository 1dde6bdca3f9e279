"""Datasets, the seeded sampler and transform; importing this registers
them (mmpretrain's ``DATASETS`` and ``TRANSFORMS``, mmengine's
``DATA_SAMPLERS``)."""
from .cifar10 import CIFAR10ChecksumWarning, CIFAR10DataError, LenientCIFAR10
from .seeded_sampler import EpochSeededSampler, SeededIndex
from .transforms import SeededRandomCropFlip

__all__ = [
    'CIFAR10ChecksumWarning', 'CIFAR10DataError', 'LenientCIFAR10',
    'EpochSeededSampler', 'SeededIndex', 'SeededRandomCropFlip'
]
