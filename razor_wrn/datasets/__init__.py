"""Datasets; importing this registers them in mmpretrain's ``DATASETS``."""
from .cifar import CIFARChecksumWarning, CIFARDataError, LenientCIFARMixin
from .cifar10 import LenientCIFAR10
from .cifar100 import LenientCIFAR100

__all__ = [
    'CIFARChecksumWarning', 'CIFARDataError', 'LenientCIFARMixin',
    'LenientCIFAR10', 'LenientCIFAR100'
]
