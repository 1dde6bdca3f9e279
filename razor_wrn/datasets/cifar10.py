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

    Takes exactly the arguments of :class:`mmpretrain.datasets.CIFAR10` and
    returns the same data list for the official files: labels ``0..9`` from
    each batch's ``'labels'``. Files whose md5 differs from the official
    release load with a :class:`~.cifar.CIFARChecksumWarning` if their
    structure is valid; missing, broken or code-carrying files raise
    :class:`~.cifar.CIFARDataError`.

    Args:
        data_root (str): Directory that contains (or will contain)
            ``cifar-10-batches-py``.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        metainfo (dict, optional): Meta information, e.g. ``classes``.
            Defaults to None (mmpretrain's CIFAR-10 class names).
        download (bool): Download and extract the official archive when a
            file is missing. Defaults to True.
        data_prefix (str): Folder under ``data_root`` holding
            ``cifar-10-batches-py``. Defaults to ''.
        test_mode (bool): Passed to :class:`BaseDataset`. Defaults to False.
        **kwargs: Other keyword arguments of :class:`BaseDataset`.
    """

    dataset_name = 'CIFAR-10'
    label_key = 'labels'
