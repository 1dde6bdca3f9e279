"""Random training images of any size, for the benchmark: on tiny images
the network costs almost nothing, so the host's work per step shows.

The loader keeps the kind the config trains with: a device-resident loader
stays one (:func:`random_image_loader`); a standard ``DataLoader`` stays one
with the config's workers, sampler, collate function and training pipeline,
its crop scaled to the image size (:func:`random_standard_loader`), so the
main process pays what it pays in a real run to receive its batches.

Both hold as many images as CIFAR's training split (or the config's split,
if it has more), so that an epoch, and the logging interval that follows it
(``LogIntervalHook``: about 10 logs per epoch), are as long as in a run.
"""
import copy
from typing import Dict, List

import numpy as np
import torch
from mmengine.dataset import BaseDataset, DefaultSampler
from torch.utils.data import DataLoader

from razor_wrn.cli import UserError
from razor_wrn.datasets.device_cifar import DeviceTensorLoader
from razor_wrn.datasets.loader_settings import batch_size_of, sampler_of
from razor_wrn.datasets.seeded_batches import SeededBatchSampler
from razor_wrn.datasets.seeded_sampler import EpochSeededSampler
from razor_wrn.datasets.virtual_ranks import VirtualRankSampler

CIFAR_TRAIN_IMAGES = 50000
CIFAR_SIZE = 32  # the size the configs' crop and padding are given for


def _random_split(like, image_size: int):
    """uint8 ``(N, 3, S, S)`` images and int64 ``(N,)`` labels."""
    generator = torch.Generator().manual_seed(0)
    count = max(len(like.dataset), batch_size_of(like), CIFAR_TRAIN_IMAGES)
    images = torch.randint(0, 256, (count, 3, image_size, image_size),
                           dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, len(like.dataset.metainfo['classes']),
                           (count, ), generator=generator)
    return images, labels


def random_image_loader(like, image_size: int,
                        device: torch.device) -> DeviceTensorLoader:
    """A training ``DeviceTensorLoader`` of random ``image_size`` square
    images at the batch size of ``like`` (the config's train loader).

    Args:
        like: The config's train loader (its batch size and length).
        image_size (int): Height and width of the images, in pixels.
        device (torch.device): Where the images live.
    """
    images, labels = _random_split(like, image_size)
    return DeviceTensorLoader(images, labels, like.dataset.metainfo,
                              batch_size_of(like), device=str(device))


class RandomImages(BaseDataset):
    """A split of given ``(H, W, 3)`` uint8 images and labels, as mmpretrain's
    CIFAR datasets list theirs (``img``, ``gt_label``).

    Args:
        images (np.ndarray): uint8 ``(N, H, W, 3)``.
        labels (np.ndarray): int ``(N,)``.
        metainfo (dict): The config's split's (its ``classes``).
        pipeline (list): Built transforms.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray,
                 metainfo: Dict, pipeline: List) -> None:
        self._images, self._labels = images, labels
        super().__init__(metainfo=metainfo, pipeline=pipeline)

    def load_data_list(self) -> List[Dict]:
        return [dict(img=image, gt_label=int(label))
                for image, label in zip(self._images, self._labels)]


def _scaled_pipeline(pipeline, image_size: int) -> List:
    """A copy of the built ``pipeline``'s transforms whose crops (those
    with ``crop_size`` and ``padding``, e.g. ``SeededRandomCropFlip``) take
    the whole ``image_size`` image, with the padding scaled as the image."""
    transforms = copy.deepcopy(list(pipeline.transforms))
    for transform in transforms:
        if hasattr(transform, 'crop_size') and hasattr(transform, 'padding'):
            transform.crop_size = image_size
            transform.padding = transform.padding * image_size // CIFAR_SIZE
    return transforms


def random_standard_loader(like: DataLoader, image_size: int) -> DataLoader:
    """A ``DataLoader`` like ``like`` (batch size, workers, sampler type,
    seed and recipe ranks, batch sampler, collate function, pin memory)
    over random ``image_size`` square images through ``like``'s training
    pipeline, its crop scaled.

    Args:
        like (DataLoader): The config's train loader.
        image_size (int): Height and width of the images, in pixels.

    Raises:
        UserError: If ``like``'s sampler is not an ``EpochSeededSampler``,
            a ``DefaultSampler`` or a ``VirtualRankSampler``.
    """
    batches = like.batch_sampler
    seeded_batches = isinstance(batches, SeededBatchSampler)
    sampler = sampler_of(like)
    if type(sampler) not in (EpochSeededSampler, DefaultSampler,
                             VirtualRankSampler):
        raise UserError(
            f'--image-size rebuilds the train loader with its sampler, '
            f'which must be an EpochSeededSampler, a DefaultSampler or a '
            f'VirtualRankSampler, not {type(sampler).__name__}; benchmark a '
            f'b128x1 config.')
    images, labels = _random_split(like, image_size)
    dataset = RandomImages(
        images.permute(0, 2, 3, 1).numpy(), labels.numpy(),
        like.dataset.metainfo,
        _scaled_pipeline(like.dataset.pipeline, image_size))
    workers = dict(prefetch_factor=like.prefetch_factor,
                   persistent_workers=like.persistent_workers
                   ) if like.num_workers else {}
    recipe = dict(recipe_world_size=sampler.recipe_world_size,
                  batch_size=sampler.batch_size) \
        if isinstance(sampler, VirtualRankSampler) else {}
    sampler = type(sampler)(dataset, shuffle=sampler.shuffle,
                            seed=sampler.seed, **recipe)
    batching = dict(batch_sampler=SeededBatchSampler(
        sampler, batches.batch_size, batches.drop_last)) if seeded_batches \
        else dict(batch_size=like.batch_size, sampler=sampler)
    return DataLoader(
        dataset, **batching,
        num_workers=like.num_workers, collate_fn=like.collate_fn,
        pin_memory=like.pin_memory, worker_init_fn=like.worker_init_fn,
        **workers)
