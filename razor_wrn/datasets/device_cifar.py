"""A CIFAR loader that keeps the whole split on the device and augments there.

mmpretrain's CIFAR pipeline (``RandomCrop(crop_size=32, padding=4)`` +
``RandomFlip(prob=0.5, direction='horizontal')`` + ``PackInputs``) decodes,
pads, crops and flips every 32x32 image in a worker process and collates one
tensor per image; for a small WRN the GPU waits on that. Here the split is one
uint8 tensor on the device, and each epoch's images are padded, cropped and
flipped there at the epoch's start, 1,024 per gather; a batch is
then a slice. The distribution is the mmpretrain pipeline's (offsets uniform
over ``0..2*padding`` per axis, zero padding, flip with p=0.5, flip applied
after the crop).

Every random draw of an epoch (order, crop offsets, flips) is made on the CPU
from a generator seeded with ``seed + epoch`` (mmengine's ``DefaultSampler``
convention), so a batch depends only on ``(seed, epoch, rank, world_size)``:
the same on CPU and CUDA, and the same after a resume, because mmengine's
``DistSamplerSeedHook`` calls ``loader.sampler.set_epoch(epoch)`` before each
training epoch. Normalisation is left to the model's ``ClsDataPreprocessor``,
which accepts the stacked uint8 batch as it is.

Configs select it with ``configs/_base_/datasets/cifar10_device_bs128.py``
(``DeviceCIFAR100Loader`` in ``cifar100_device_bs64.py``), i.e. the runner
that can build it (any loader in :data:`DEVICE_LOADERS`) plus the loaders::

    runner_type = 'DeviceDataRunner'
    train_dataloader = dict(
        _delete_=True, type='DeviceCIFAR10Loader', data_root='data/cifar10',
        split='train', batch_size=128, augment=True, shuffle=True)
    val_dataloader = dict(
        _delete_=True, type='DeviceCIFAR10Loader', data_root='data/cifar10',
        split='test', batch_size=128, augment=False, shuffle=False)
"""
from typing import (Any, Dict, Iterator, List, Optional, Sequence, Tuple,
                    Type, Union)

import numpy as np
import torch
from mmengine.dist import get_dist_info
from mmengine.registry import Registry
from mmpretrain.structures import DataSample

from .cifar import LenientCIFARMixin
from .cifar10 import LenientCIFAR10
from .crop_flip import CropFlipViews
from .cifar100 import LenientCIFAR100
from .device_epoch_sampler import DeviceEpochSampler

# Images per gather when an epoch is augmented at its start: the padded
# copy of 1,024 CIFAR images (4.9 MB of uint8) stays in a CPU's cache, where
# 4,096 (19.7 MB) made the epoch's augmentation half again as slow; on a GPU
# 49 gathers per epoch of 50,000 cost nothing worth counting.
EPOCH_CHUNK = 1024


def resolve_device(device: str) -> torch.device:
    """``'auto'`` means CUDA when available, else CPU; anything else is
    passed to :class:`torch.device`."""
    if device == 'auto':
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    return torch.device(device)


class DatasetInfo:
    """What mmengine loops read from ``dataloader.dataset``: ``metainfo``
    (class names, for the evaluator and visualizer) and ``len()`` (the split
    size ``collect_results`` truncates rank padding to).

    Args:
        metainfo (dict): Dataset meta information, e.g. ``{'classes': ...}``.
        num_samples (int): Number of samples in the split.
    """

    def __init__(self, metainfo: Dict, num_samples: int) -> None:
        self.metainfo = metainfo
        self.num_samples = num_samples

    def __len__(self) -> int:
        return self.num_samples


class DeviceTensorLoader:
    """Iterate augmented batches of an image tensor held on the device.

    Each batch is ``dict(inputs=uint8 (B, C, H, W) on device,
    data_samples=[DataSample with gt_label (1,) on device, ...])``, the input
    mmpretrain's ``ClsDataPreprocessor`` (and so an ``ImageClassifier`` or an
    mmrazor algorithm using the student's preprocessor) takes. Each sample's
    metainfo names its view as the standard pipeline's
    ``SeededRandomCropFlip`` does: ``sample_idx`` (int), ``crop_offset``
    ``(oy, ox)`` in padded coordinates and ``flip`` (bool), so a
    teacher-output bank can look the view up.

    Args:
        images (torch.Tensor): uint8 ``(N, C, H, W)`` split, RGB.
        labels (torch.Tensor): Integer ``(N,)`` class indices.
        metainfo (dict): Exposed as ``dataset.metainfo``.
        batch_size (int): Samples per batch on each rank.
        augment (bool): Random crop with zero padding and horizontal flip.
        shuffle (bool): New sample order every epoch.
        drop_last (bool): Drop the last, partial batch of each epoch.
        device (str): ``'cuda'``, ``'cpu'``, ``'cuda:1'``... or ``'auto'``
            (CUDA when available).
        seed (int): Base seed; epoch ``e`` draws from ``seed + e``.
        padding (int): Zero border of the random crop.
    """

    def __init__(self,
                 images: torch.Tensor,
                 labels: torch.Tensor,
                 metainfo: Dict,
                 batch_size: int = 128,
                 augment: bool = True,
                 shuffle: bool = True,
                 drop_last: bool = False,
                 device: str = 'auto',
                 seed: int = 0,
                 padding: int = 4) -> None:
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError('images must be a uint8 (N, C, H, W) tensor, '
                             f'got {images.dtype} {tuple(images.shape)}')
        if labels.shape != images.shape[:1]:
            raise ValueError(f'{len(labels)} labels for {len(images)} images')
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        self.device = resolve_device(device)
        self.images = images.contiguous().to(self.device)
        self.labels = labels.to(self.device, torch.int64)
        self.batch_size = batch_size
        self.augment = augment
        self.drop_last = drop_last
        self.padding = padding
        self.dataset = DatasetInfo(metainfo, len(images))
        rank, world_size = get_dist_info()
        self.sampler = DeviceEpochSampler(len(images), shuffle, augment, seed,
                                          rank, world_size, padding)
        self.crop_flip = CropFlipViews(*images.shape[2:], padding,
                                       self.device) if augment else None

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch the next iteration draws (see the sampler)."""
        self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        """Batches per epoch on this rank."""
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return -(-len(self.sampler) // self.batch_size)  # ceil, in ints

    def __iter__(self) -> Iterator[Dict]:
        indices, offsets, flips = self.sampler.draw()
        batches = self._batches(*self._device_draws(indices, offsets, flips))
        # The view metadata is read from the CPU draws, never from the
        # device, one batch at a time (an epoch of dicts up front cost a
        # quarter of a second per epoch).
        for part, inputs, labels in batches:
            views = [
                dict(sample_idx=index, crop_offset=tuple(offset), flip=flip)
                for index, offset, flip in zip(indices[part].tolist(),
                                               offsets[part].tolist(),
                                               flips[part].tolist())
            ]
            yield self._make_batch(inputs, labels, views)

    def tensor_batches(self) -> Iterator[Dict[str, torch.Tensor]]:
        """The same batches as iterating the loader, as tensors only.

        Yields:
            dict: ``inputs`` uint8 ``(B, C, H, W)`` and ``labels`` int64
            ``(B,)`` on the device: no per-image objects; in training
            slices of the epoch's augmented images, no device work per batch.
        """
        for _, inputs, labels in self._batches(
                *self._device_draws(*self.sampler.draw())):
            yield dict(inputs=inputs, labels=labels)

    def _device_draws(self, indices: torch.Tensor, offsets: torch.Tensor,
                      flips: torch.Tensor
                      ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        # One transfer per epoch, so batches need no host-device traffic;
        # views numbered once per epoch, not per batch; none without
        # augmentation, where nothing reads them.
        view_ids = None if self.crop_flip is None else \
            self.crop_flip.view_ids(offsets, flips).to(self.device)
        return indices.to(self.device), view_ids

    def _batches(self, indices: torch.Tensor,
                 view_ids: Optional[torch.Tensor]
                 ) -> Iterator[Tuple[slice, torch.Tensor, torch.Tensor]]:
        """Each batch's place in the epoch's draws, its uint8
        ``(B, C, H, W)`` images ``indices`` in views ``view_ids`` (as
        drawn; None without augmentation) and its int64 ``(B,)`` labels.

        With augmentation the epoch's images are augmented at its start,
        :data:`EPOCH_CHUNK` per gather, and each batch is a slice of them:
        per batch a lookup, a padding and a gather were several kernel
        launches on a GPU and, on a CPU, cost several times their
        arithmetic in cache misses after each training step. The bytes are
        the same; the epoch's images take one more copy of the split's
        memory. Without augmentation (evaluation) each batch indexes the
        split itself: a copy of the whole split would only add memory
        traffic.
        """
        if view_ids is None:
            for part in self._batch_slices():
                batch = indices[part]
                yield part, self.images[batch], self.labels[batch]
            return
        used = min(len(indices), len(self) * self.batch_size)
        indices, view_ids = indices[:used], view_ids[:used]
        labels = self.labels[indices]
        inputs = torch.empty((used, ) + tuple(self.images.shape[1:]),
                             dtype=self.images.dtype, device=self.device)
        for start in range(0, used, EPOCH_CHUNK):
            chunk = slice(start, start + EPOCH_CHUNK)
            inputs[chunk] = self.crop_flip(self.images[indices[chunk]],
                                           view_ids[chunk])
        for part in self._batch_slices():
            yield part, inputs[part], labels[part]

    def _batch_slices(self) -> Iterator[slice]:
        for batch in range(len(self)):
            yield slice(batch * self.batch_size,
                        (batch + 1) * self.batch_size)

    def _make_batch(self, inputs: torch.Tensor, labels: torch.Tensor,
                    views: List[Dict]) -> Dict:
        # split(1) gives (1,) views: format_label keeps them as they are,
        # where a 0-d tensor would cost a device sync in ``.item()``.
        data_samples: List[DataSample] = [
            DataSample(metainfo=view).set_gt_label(label)
            for view, label in zip(views, labels.split(1))
        ]
        return dict(inputs=inputs, data_samples=data_samples)


DEVICE_LOADERS = Registry('device-resident loader')


def device_loader_class(
        loader_type: Any) -> Optional[Type[DeviceTensorLoader]]:
    """The device loader a dataloader config's ``type`` selects, if any.

    Args:
        loader_type (Any): The config's ``type``: a name registered in
            :data:`DEVICE_LOADERS`, a class, or anything else (e.g. None in
            mmengine's ``DataLoader`` configs).

    Returns:
        type | None: The :class:`DeviceTensorLoader` subclass, or None when
        ``loader_type`` names none (a config for mmengine to build).
    """
    if isinstance(loader_type, str):
        loader_type = DEVICE_LOADERS.get(loader_type)
    if isinstance(loader_type, type) and issubclass(loader_type,
                                                    DeviceTensorLoader):
        return loader_type
    return None


class DeviceCIFARLoader(DeviceTensorLoader):
    """:class:`DeviceTensorLoader` over a split of a CIFAR data set on disk.

    The split is read by the subclass's ``dataset_class`` (a
    :class:`~.cifar.LenientCIFARMixin` dataset), so it holds the same images,
    labels and class names, with the same checks and errors. Use
    ``augment=True, shuffle=True`` for training (the distribution of
    mmpretrain's ``RandomCrop(32, padding=4)`` + ``RandomFlip(0.5)``) and
    ``augment=False, shuffle=False`` for validation and test (images in file
    order, unchanged).

    Args:
        data_root (str): Folder holding the data set's ``base_folder``
            (e.g. ``cifar-10-batches-py``).
        split (str): ``'train'`` or ``'test'``.
        batch_size (int): Samples per batch on each rank.
        augment (bool): Random crop with zero padding and horizontal flip.
        shuffle (bool): New sample order every epoch.
        drop_last (bool): Drop the last, partial batch of each epoch.
        device (str): ``'cuda'``, ``'cpu'`` or ``'auto'`` (CUDA when
            available).
        seed (int): Base seed; epoch ``e`` draws from ``seed + e``.
        padding (int): Zero padding of the random crops, in pixels.
        indices (int | Sequence[int], optional): Keep only these samples
            of the split: the first ``indices`` if an int, as mmengine's
            ``BaseDataset(indices=...)``. None keeps all.

    Raises:
        CIFARDataError: The split is missing or malformed (see the dataset).
        ValueError: If ``indices`` keeps no sample or names one outside
            the split.
    """

    dataset_class: Type[LenientCIFARMixin]

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 batch_size: int = 128,
                 augment: bool = True,
                 shuffle: bool = True,
                 drop_last: bool = False,
                 device: str = 'auto',
                 seed: int = 0,
                 padding: int = 4,
                 indices: Union[int, Sequence[int], None] = None) -> None:
        dataset = self.dataset_class(
            data_root=data_root, split=split, pipeline=[], lazy_init=True)
        data_list = _kept(dataset.load_data_list(), indices)
        images = np.stack([info['img'] for info in data_list])  # NHWC
        labels = np.array([info['gt_label'] for info in data_list], np.int64)
        super().__init__(
            images=torch.from_numpy(images).permute(0, 3, 1, 2),
            labels=torch.from_numpy(labels),
            metainfo=dict(dataset.metainfo),
            batch_size=batch_size,
            augment=augment,
            shuffle=shuffle,
            drop_last=drop_last,
            device=device,
            seed=seed,
            padding=padding)


def _kept(data_list: List[Dict],
          indices: Union[int, Sequence[int], None]) -> List[Dict]:
    """The samples ``indices`` keeps (see :class:`DeviceCIFARLoader`)."""
    if indices is None:
        return data_list
    if isinstance(indices, int):
        indices = range(indices)
    if not indices or not all(0 <= i < len(data_list) for i in indices):
        raise ValueError(
            f'indices must keep at least one of the split\'s '
            f'{len(data_list)} samples and name none outside it, got '
            f'{indices!r}.')
    return [data_list[i] for i in indices]


@DEVICE_LOADERS.register_module()
class DeviceCIFAR10Loader(DeviceCIFARLoader):
    """:class:`DeviceCIFARLoader` over CIFAR-10 (``LenientCIFAR10``);
    ``data_root`` holds ``cifar-10-batches-py``."""

    dataset_class = LenientCIFAR10


@DEVICE_LOADERS.register_module()
class DeviceCIFAR100Loader(DeviceCIFARLoader):
    """:class:`DeviceCIFARLoader` over CIFAR-100's fine labels
    (``LenientCIFAR100``); ``data_root`` holds ``cifar-100-python``."""

    dataset_class = LenientCIFAR100
