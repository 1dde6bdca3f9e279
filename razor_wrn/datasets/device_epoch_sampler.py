"""The random draws of a device-resident loader's epoch (order, crop
offsets, flips) for one rank, made on the CPU from ``seed + epoch``
(mmengine's ``DefaultSampler`` convention), so a batch depends only on
``(seed, epoch, rank, world_size)``; with ``virtual_ranks``, the draws of
more ranks than processes, dealt out (:mod:`.virtual_ranks`)."""
import math
from typing import Dict, Optional, Tuple

import torch

from .virtual_ranks import virtual_rank_positions


class DeviceEpochSampler:
    """The random draws of one epoch for one rank: sample order, crop
    offsets and flips.

    Like mmengine's ``DefaultSampler``: the order is a permutation seeded with
    ``seed + epoch`` (identity when not shuffling), padded by wrapping around
    to a multiple of ``world_size``, and rank ``r`` takes positions
    ``r, r + world_size, ...`` — the interleaving mmengine's
    ``collect_results`` undoes in evaluation. Augmentation parameters are
    drawn for every position of that global order and sharded the same way,
    so ranks never share draws and the union over ranks does not depend on
    ``world_size``.

    Args:
        num_samples (int): Size of the split.
        shuffle (bool): Permute the order every epoch.
        augment (bool): Draw crop offsets and flips (else all zero/False).
        seed (int): Base seed; epoch ``e`` uses ``seed + e``.
        rank (int): This process's rank.
        world_size (int): Number of processes sharing the split.
        padding (int): Crop offsets are uniform over ``0..2 * padding``.
        virtual_ranks (dict, optional): ``dict(world_size=R,
            batch_size=b)``: draw for ``R`` ranks and deal them to the
            ``world_size`` processes, each taking the ``b``-sample chunks of
            ``R / world_size`` ranks in turn
            (:func:`~.virtual_ranks.virtual_rank_positions`); the loader's
            batch size is then ``R / world_size * b``. None: one rank per
            process.

    Raises:
        ValueError: If ``world_size`` does not divide ``R``.
    """

    def __init__(self, num_samples: int, shuffle: bool, augment: bool,
                 seed: int, rank: int, world_size: int,
                 padding: int, virtual_ranks: Optional[Dict] = None) -> None:
        self.virtual_ranks = virtual_ranks
        if virtual_ranks is not None:
            # Checked here, not at the first draw.
            virtual_rank_positions(virtual_ranks['world_size'], rank,
                                   world_size, virtual_ranks['world_size'],
                                   virtual_ranks['batch_size'])
        self.num_samples = num_samples
        self.shuffle = shuffle
        self.augment = augment
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.padding = padding
        self.epoch = 0
        # Padded for the ranks the draws are made for.
        ranks = world_size if virtual_ranks is None else \
            virtual_ranks['world_size']
        self.total_size = math.ceil(num_samples / ranks) * ranks

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose draws :meth:`draw` returns (called by
        mmengine's ``DistSamplerSeedHook`` before each training epoch)."""
        self.epoch = epoch

    def __len__(self) -> int:
        """Samples this rank sees per epoch."""
        return self.total_size // self.world_size

    def draw(self) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return this rank's ``(indices, offsets, flips)`` for the epoch.

        Returns:
            tuple: int64 ``(L,)`` sample indices, int64 ``(L, 2)`` crop
            corners ``(oy, ox)`` and bool ``(L,)`` flips, on the CPU, where
            ``L = len(self)``.
        """
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        if self.shuffle:
            order = torch.randperm(self.num_samples, generator=generator)
        else:
            order = torch.arange(self.num_samples)
        # Wrap around (as DefaultSampler's round_up) so every rank gets the
        # same number of samples and hence of batches.
        order = order.repeat(math.ceil(self.total_size / self.num_samples))
        order = order[:self.total_size]
        if self.augment:
            offsets = torch.randint(
                0, 2 * self.padding + 1, (self.total_size, 2),
                generator=generator)
            flips = torch.randint(
                0, 2, (self.total_size, ), generator=generator).bool()
        else:
            # padding offset = the un-shifted image.
            offsets = torch.full((self.total_size, 2), self.padding)
            flips = torch.zeros(self.total_size, dtype=torch.bool)
        if self.virtual_ranks is None:
            shard = slice(self.rank, self.total_size, self.world_size)
        else:
            shard = virtual_rank_positions(
                self.total_size, self.rank, self.world_size,
                self.virtual_ranks['world_size'],
                self.virtual_ranks['batch_size'])
        return order[shard], offsets[shard], flips[shard]
