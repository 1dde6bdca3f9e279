"""A split whose batches are made whole, not image by image.

A standard loader makes each batch by running the dataset's pipeline once
per image: mmengine unpickles the sample, ``SeededRandomCropFlip`` pads and
crops it, ``PackInputs`` builds a tensor and a ``DataSample``, and the
collate function stacks them again. That is about 40 us per image in
Python, 5.2 ms per batch of 128 on a 2-core CPU: with 2 workers on 2 cores
the workers use both cores as fast as a small network trains, slowing the
training step that shares them.

For the pipelines of the CIFAR configs (``[PackInputs]`` or
``[SeededRandomCropFlip, PackInputs]``, the crop as large as the image)
:class:`BatchedSplit` holds the split's images and labels as two arrays and
makes a batch with one gather, the views' draws
(``SeededRandomCropFlip.draws``, the same hash of seed, epoch and index)
and one crop-and-flip gather
(:func:`~.crop_flip.crop_flip`): the bytes the pipeline gives, as the
``inputs`` and ``labels`` arrays :class:`~.tensor_collate.TensorCollate`
gives. torch's ``DataLoader`` calls a dataset's ``__getitems__`` with the
batch's indices where it has one.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmpretrain.datasets.transforms import PackInputs
from torch.utils.data import Dataset

from .crop_flip import crop_flip
from .transforms import SeededRandomCropFlip


class BatchedSplit(Dataset):
    """A split as arrays, made into batches by ``__getitems__``.

    Args:
        images (np.ndarray): ``(N, H, W, C)`` images, as the pipeline reads
            them (``img``).
        labels (np.ndarray): int64 ``(N,)`` class indices.
        augment (SeededRandomCropFlip, optional): The training pipeline's
            augmentation, its crop the size of the images; None for none.
        as_arrays (bool): Return numpy arrays (True) or tensors.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray,
                 augment: Optional[SeededRandomCropFlip] = None,
                 as_arrays: bool = True) -> None:
        self.images, self.labels = images, labels
        self.augment = augment
        self.as_arrays = as_arrays

    def __len__(self) -> int:
        return len(self.labels)

    def __getitems__(self, indices: Sequence[int]) -> Dict:
        """``dict(inputs=(B, C, H, W), labels=int64 (B,))`` of the samples
        ``indices`` (their views, where the split is augmented).

        Raises:
            ValueError: The split is augmented and an index carries no seed
                and epoch (the sampler is not ``EpochSeededSampler``).
        """
        indices = list(indices)
        rows = np.fromiter(indices, dtype=np.int64, count=len(indices))
        # (B, H, W, C) -> (B, C, H, W), as PackInputs permutes each image.
        images = torch.from_numpy(self.images[rows]).permute(0, 3, 1, 2)
        if self.augment is None:
            images = images.contiguous()
        else:
            offsets, flips = self._draws(indices, images.shape[2:])
            images = crop_flip(images, offsets, flips, self.augment.padding)
        labels = torch.from_numpy(self.labels[rows])
        if self.as_arrays:
            return dict(inputs=images.numpy(), labels=labels.numpy())
        return dict(inputs=images, labels=labels)

    def _draws(self, indices: List[int], size: Tuple[int, int]
               ) -> Tuple[torch.Tensor, torch.Tensor]:
        """int64 ``(B, 2)`` crop corners and bool ``(B,)`` flips, drawn as
        ``SeededRandomCropFlip`` draws them.

        Raises:
            ValueError: An index carries no seed and epoch.
        """
        draws = [self.augment.draws(index, *size) for index in indices]
        corners = torch.tensor([draw[:2] for draw in draws],
                               dtype=torch.int64).view(len(draws), 2)
        flips = torch.tensor([draw[2] for draw in draws], dtype=torch.bool)
        return corners, flips


def batched_split_of(dataset, as_arrays: bool = True
                     ) -> Tuple[Optional[BatchedSplit], str]:
    """``dataset`` as a :class:`BatchedSplit`, where its pipeline allows.

    Reads every sample's ``img`` and ``gt_label`` once (0.8 s on a 2-core
    CPU, and the images' size again in memory, for CIFAR-10's training
    split).

    Args:
        dataset: An mmengine ``BaseDataset`` with a built pipeline.
        as_arrays (bool): See :class:`BatchedSplit`.

    Returns:
        tuple: The split, or None and why not (for a log line).
    """
    transforms = list(getattr(getattr(dataset, 'pipeline', None),
                              'transforms', None) or [])
    kinds = [type(transform) for transform in transforms]
    if kinds not in ([PackInputs], [SeededRandomCropFlip, PackInputs]):
        names = ', '.join(kind.__name__ for kind in kinds) or 'none'
        return None, (f'its pipeline ({names}) is not [PackInputs] or '
                      '[SeededRandomCropFlip, PackInputs]')
    if transforms[-1].input_key != 'img':
        return None, 'PackInputs reads another key than img'
    if not hasattr(dataset, 'get_data_info'):
        return None, 'the dataset has no get_data_info to read its samples'
    infos = [dataset.get_data_info(index) for index in range(len(dataset))]
    if not infos:
        return None, 'the split is empty'
    shapes = {np.shape(info['img']) for info in infos}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3:
        return None, 'its images are not all (H, W, C) of one size'
    images = np.stack([info['img'] for info in infos])
    labels = np.array([int(info['gt_label']) for info in infos],
                      dtype=np.int64)
    augment = transforms[0] if len(transforms) == 2 else None
    if augment is not None and (augment.crop_size,) * 2 != images.shape[1:3]:
        return None, (f'its crop ({augment.crop_size}) is not the size of '
                      f'its images ({images.shape[1]}x{images.shape[2]})')
    return BatchedSplit(images, labels, augment, as_arrays), ''
