"""CIFAR-100 (fine labels) loaded as safely and leniently as CIFAR-10.

Config example::

    train_dataloader = dict(dataset=dict(
        type='LenientCIFAR100', data_root='data/cifar100', split='train',
        download=True, pipeline=[...]))
"""
from mmpretrain.datasets import CIFAR100
from mmpretrain.registry import DATASETS

from .cifar import LenientCIFARMixin


@DATASETS.register_module()
class LenientCIFAR100(LenientCIFARMixin, CIFAR100):
    """mmpretrain's CIFAR-100 loaded by :class:`~.cifar.LenientCIFARMixin`.

    Returns the same data list as :class:`mmpretrain.datasets.CIFAR100` for
    the official files: the 100 fine labels ``0..99`` (``'fine_labels'``;
    the 20 coarse labels are not read). Files whose md5 differs from the
    release load with a :class:`~.cifar.CIFARChecksumWarning` if their
    structure is valid; missing, broken or code-carrying files raise
    :class:`~.cifar.CIFARDataError`.

    Args:
        data_root (str): Directory that contains (or will contain)
            ``cifar-100-python``.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        download (bool): Download and extract the official archive when a
            file is missing. Defaults to True.
        **kwargs: The other arguments of
            :class:`mmpretrain.datasets.CIFAR100` (``metainfo``,
            ``data_prefix``, ``test_mode``, ``pipeline``...).
    """

    dataset_name = 'CIFAR-100'
    label_key = 'fine_labels'
