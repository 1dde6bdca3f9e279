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

    Takes exactly the arguments of :class:`mmpretrain.datasets.CIFAR100`
    and returns the same data list for the official files: the 100 fine
    labels ``0..99`` (``'fine_labels'``; the 20 coarse labels are not read).
    Files whose md5 differs from the official release load with a
    :class:`~.cifar.CIFARChecksumWarning` if their structure is valid;
    missing, broken or code-carrying files raise
    :class:`~.cifar.CIFARDataError`.

    Args:
        data_root (str): Directory that contains (or will contain)
            ``cifar-100-python`` (``train``, ``test``, ``meta``).
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        metainfo (dict, optional): Meta information, e.g. ``classes``.
            Defaults to None (mmpretrain's CIFAR-100 fine class names).
        download (bool): Download and extract the official archive when a
            file is missing. Defaults to True.
        data_prefix (str): Folder under ``data_root`` holding
            ``cifar-100-python``. Defaults to ''.
        test_mode (bool): Passed to :class:`BaseDataset`. Defaults to False.
        **kwargs: Other keyword arguments of :class:`BaseDataset`.
    """

    dataset_name = 'CIFAR-100'
    label_key = 'fine_labels'
