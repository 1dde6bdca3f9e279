"""Random crop + horizontal flip drawn from (seed, epoch, sample index).

The CIFAR recipe's augmentation (mmpretrain's ``RandomCrop(crop_size=32,
padding=4)`` then ``RandomFlip(prob=0.5, direction='horizontal')``) with its
draws taken from a hash of ``(seed, epoch, sample index)`` instead of
numpy's global generator (why: :mod:`razor_wrn.datasets.seeded_sampler`),
and with the view it produced recorded in the sample: ``sample_idx``,
``crop_offset`` ``(oy, ox)`` and ``flip``. A view is thereby named by
``(sample_idx, oy, ox, flip)``, which is what a teacher-output bank indexes.
"""
import hashlib
from typing import Dict, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

from .seeded_sampler import SeededIndex

_TWO_64 = 1 << 64


def view_draws(seed: int, epoch: int, index: int,
               num_offsets: Tuple[int, int],
               flip_prob: float) -> Tuple[int, int, bool]:
    """The crop offset and flip of sample ``index`` in ``epoch``.

    Three 64-bit words of BLAKE2b over ``"seed,epoch,index"`` give ``oy``
    and ``ox`` (multiply-shift: uniform over ``0..n - 1`` up to a bias of
    ``n / 2**64``) and the flip (``word < flip_prob * 2**64``); the words
    are independent, as are np.random's draws in ``RandomCrop`` and
    ``RandomFlip``.

    Args:
        seed (int): The run's seed (>= 0).
        epoch (int): The epoch (>= 0).
        index (int): The dataset index (>= 0).
        num_offsets (tuple): Crop positions ``(n_y, n_x)`` per axis
            (9, 9 for a 32 crop of 32 + 2 * 4).
        flip_prob (float): Probability of a horizontal flip.

    Returns:
        tuple: ``(oy, ox, flip)``.
    """
    digest = hashlib.blake2b(
        f'{seed},{epoch},{index}'.encode(), digest_size=24).digest()
    words = [int.from_bytes(digest[k:k + 8], 'little') for k in (0, 8, 16)]
    oy = (words[0] * num_offsets[0]) >> 64
    ox = (words[1] * num_offsets[1]) >> 64
    return oy, ox, words[2] < flip_prob * _TWO_64


@TRANSFORMS.register_module()
class SeededRandomCropFlip(BaseTransform):
    """Zero-pad, crop ``crop_size`` at a random offset, flip horizontally at
    random; the draws are a function of ``(seed, epoch, sample_idx)``.

    For given draws the pixels equal mmpretrain's ``RandomCrop(crop_size,
    padding)`` followed by ``RandomFlip(prob, direction='horizontal')``, and
    the draws have their distribution: ``oy`` and ``ox`` uniform over
    ``0..H + 2 * padding - crop_size`` (resp. W), the flip Bernoulli(p).

    **Required keys:** ``img`` (HWC), ``sample_idx`` (a
    :class:`SeededIndex`: use ``sampler=dict(type='EpochSeededSampler')``).

    **Modified keys:** ``img``, ``img_shape``, ``sample_idx`` (plain int).

    **Added keys:** ``crop_offset`` ``(oy, ox)`` in padded coordinates,
    ``flip`` (bool) and ``flip_direction`` (``'horizontal'`` or None, as
    mmcv's ``RandomFlip``). Pack ``crop_offset`` with
    ``PackInputs(meta_keys=(..., 'crop_offset'))``.

    Args:
        crop_size (int): Side of the square crop, in pixels.
        padding (int): Zero border added on every side before cropping.
        flip_prob (float): Probability of a horizontal flip.

    Raises:
        ValueError: ``sample_idx`` carries no seed and epoch (the sampler is
            not ``EpochSeededSampler``), or the image is smaller than the
            crop after padding.
    """

    def __init__(self, crop_size: int = 32, padding: int = 4,
                 flip_prob: float = 0.5) -> None:
        if crop_size < 1 or padding < 0 or not 0.0 <= flip_prob <= 1.0:
            raise ValueError(
                f'SeededRandomCropFlip needs crop_size >= 1, padding >= 0 '
                f'and 0 <= flip_prob <= 1, got {crop_size}, {padding}, '
                f'{flip_prob}')
        self.crop_size = crop_size
        self.padding = padding
        self.flip_prob = flip_prob

    def num_offsets(self, height: int, width: int) -> Tuple[int, int]:
        """Crop positions ``(along y, along x)`` for an image of that size."""
        return (height + 2 * self.padding - self.crop_size + 1,
                width + 2 * self.padding - self.crop_size + 1)

    def draws(self, index: SeededIndex, height: int,
              width: int) -> Tuple[int, int, bool]:
        """The crop corner ``(oy, ox)`` and flip of sample ``index`` in an
        image of ``height`` x ``width`` pixels (:func:`view_draws`).

        Raises:
            ValueError: ``index`` carries no seed and epoch (the sampler is
                not ``EpochSeededSampler``), or the image is smaller than
                the crop after padding.
        """
        if not isinstance(index, SeededIndex):
            raise ValueError(
                'SeededRandomCropFlip draws from (seed, epoch, sample '
                'index), but the sample index carries no seed and epoch: '
                "set the train loader's sampler=dict(type="
                "'EpochSeededSampler', shuffle=True).")
        num_y, num_x = self.num_offsets(height, width)
        if num_y < 1 or num_x < 1:
            raise ValueError(
                f'Image of {height}x{width} with padding {self.padding} is '
                f'smaller than the crop {self.crop_size}.')
        return view_draws(index.seed, index.epoch, int(index),
                          (num_y, num_x), self.flip_prob)

    def transform(self, results: Dict) -> Dict:
        """Crop and flip ``results['img']``; record the view.

        Args:
            results (dict): A sample with ``img`` and ``sample_idx``.

        Returns:
            dict: The sample, augmented, with the keys listed above.
        """
        img, index = results['img'], results['sample_idx']
        height, width = img.shape[:2]
        oy, ox, flip = self.draws(index, height, width)
        pad = self.padding
        padded = np.zeros((height + 2 * pad, width + 2 * pad) + img.shape[2:],
                          dtype=img.dtype)
        padded[pad:pad + height, pad:pad + width] = img
        img = padded[oy:oy + self.crop_size, ox:ox + self.crop_size]
        if flip:
            img = img[:, ::-1]
        # A copy, not np.ascontiguousarray: a reversed view one pixel wide
        # counts as contiguous, keeps its negative stride, and torch (which
        # PackInputs calls) refuses negative strides.
        results['img'] = img.copy()
        results['img_shape'] = results['img'].shape
        results['sample_idx'] = int(index)
        results['crop_offset'] = (oy, ox)
        results['flip'] = flip
        results['flip_direction'] = 'horizontal' if flip else None
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, '
                f'padding={self.padding}, flip_prob={self.flip_prob})')
