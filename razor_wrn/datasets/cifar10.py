"""CIFAR-10 that accepts faithful re-encoded copies and never runs data code.

Config example::

    train_dataloader = dict(dataset=dict(
        type='LenientCIFAR10', data_root='data/cifar10', split='train',
        download=True, pipeline=[...]))
"""
from mmpretrain.datasets import CIFAR10
from mmpretrain.registry import DATASETS

from .cifar import LenientCIFARMixin


@DATASETS.register_module()
class LenientCIFAR10(LenientCIFARMixin, CIFAR10):
    """mmpretrain's CIFAR-10 loaded by :class:`~.cifar.LenientCIFARMixin`.

    Returns the same data list as :class:`mmpretrain.datasets.CIFAR10` for
    the official files: labels ``0..9`` from each batch's ``'labels'``.
    Files whose md5 differs from the release load with a
    :class:`~.cifar.CIFARChecksumWarning` if their structure is valid;
    missing, broken or code-carrying files raise
    :class:`~.cifar.CIFARDataError`.

    Args:
        data_root (str): Directory that contains (or will contain)
            ``cifar-10-batches-py``.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        download (bool): Download and extract the official archive when a
            file is missing. Defaults to True.
        **kwargs: The other arguments of :class:`mmpretrain.datasets.CIFAR10`
            (``metainfo``, ``data_prefix``, ``test_mode``, ``pipeline``...).
    """

    dataset_name = 'CIFAR-10'
    label_key = 'labels'
