"""Datasets, the seeded sampler and transform; importing this registers
them (mmpretrain's ``DATASETS`` and ``TRANSFORMS``, mmengine's
``DATA_SAMPLERS``)."""
from .cifar import CIFARChecksumWarning, CIFARDataError, LenientCIFARMixin
from .cifar10 import LenientCIFAR10
from .cifar100 import LenientCIFAR100
from .seeded_batches import SeededBatch, SeededBatchSampler
from .seeded_sampler import EpochSeededSampler, SeededIndex
from .transforms import SeededRandomCropFlip
from .virtual_ranks import VirtualRankSampler, virtual_rank_positions

__all__ = [
    'CIFARChecksumWarning', 'CIFARDataError', 'EpochSeededSampler',
    'LenientCIFAR10', 'LenientCIFAR100', 'LenientCIFARMixin', 'SeededBatch',
    'SeededBatchSampler', 'SeededIndex', 'SeededRandomCropFlip', 'VirtualRankSampler', 'virtual_rank_positions'
]
