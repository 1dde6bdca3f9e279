"""The samples of R ranks, dealt to fewer processes that each hold R / N.

mmengine's ``DefaultSampler`` on R ranks permutes the split with
``seed + epoch``, pads the order by wrapping around to a multiple of R, and
gives rank ``r`` positions ``r, r + R, r + 2R, ...``; a loader with batch
size ``b`` then makes batch ``k`` of rank ``r`` from that rank's ``k``-th
chunk of ``b`` positions. On N processes (N dividing R) process ``p`` holds
the virtual ranks ``p * R/N ... (p + 1) * R/N - 1``, and its batch ``k``
is the ``k``-th chunks of those ranks, one after the other: ``R/N`` groups
of ``b`` that ``GhostBatchNorm`` normalises separately. The last batch
holds each virtual rank's last, shorter chunk, so its groups stay equal.

:func:`virtual_rank_positions` computes that order over positions of the
padded global order; :class:`VirtualRankSampler` applies it to the
standard loader and ``DeviceEpochSampler`` to the device-resident one.
"""
import math
from typing import List, Sized

import torch
from mmengine.registry import DATA_SAMPLERS

from .seeded_sampler import EpochSeededSampler


def virtual_rank_positions(total_size: int, rank: int, world_size: int,
                           recipe_world_size: int,
                           batch_size: int) -> torch.Tensor:
    """Positions of the padded global order that process ``rank`` takes, in
    the order its batches of ``recipe_world_size / world_size * batch_size``
    consume them.

    Args:
        total_size (int): Length of the padded global order, a multiple of
            ``recipe_world_size``.
        rank (int): This process, ``0 <= rank < world_size``.
        world_size (int): Processes of the run; divides
            ``recipe_world_size``.
        recipe_world_size (int): Ranks ``R`` of the recipe.
        batch_size (int): Samples per batch of one recipe rank.

    Returns:
        torch.Tensor: int64 ``(total_size / world_size,)`` positions.

    Raises:
        ValueError: If ``world_size`` does not divide ``recipe_world_size``
            or ``total_size`` is not a multiple of it.
    """
    if recipe_world_size % world_size or total_size % recipe_world_size:
        raise ValueError(
            f'{world_size} processes cannot hold {recipe_world_size} '
            f'ranks of {total_size} padded samples: the process count must '
            'divide the recipe\'s ranks, which divide the padded order.')
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}.')
    held = recipe_world_size // world_size
    virtual = torch.arange(rank * held, (rank + 1) * held)
    per_rank = total_size // recipe_world_size
    chunks = []
    for start in range(0, per_rank, batch_size):
        steps = torch.arange(start, min(start + batch_size, per_rank))
        # Sample i of virtual rank v sits at position v + i * R.
        chunks.append(
            (virtual[:, None] + steps[None, :] * recipe_world_size).flatten())
    return torch.cat(chunks) if chunks else torch.zeros(0, dtype=torch.long)


@DATA_SAMPLERS.register_module()
class VirtualRankSampler(EpochSeededSampler):
    """:class:`EpochSeededSampler` dealing the samples of
    ``recipe_world_size`` ranks to this run's processes (see the module).

    Use it with a loader of ``recipe_world_size / world_size * batch_size``
    images per batch; ``tools/train.py`` sets both for a config that
    declares ``recipe_world_size``.

    Args:
        dataset (Sized): The dataset.
        recipe_world_size (int): Ranks ``R`` whose samples are dealt out.
        batch_size (int): Samples per batch of one recipe rank.
        shuffle (bool): Permute the order every epoch. Defaults to True.
        seed (int, optional): Base seed; None draws one shared by all
            ranks. The Runner passes the run's seed.
        round_up (bool): Must be True (the default): every recipe rank
            holds the same number of samples, so the groups stay equal.

    Raises:
        ValueError: If this run's process count does not divide
            ``recipe_world_size``, or ``round_up`` is False.
    """

    def __init__(self,
                 dataset: Sized,
                 recipe_world_size: int,
                 batch_size: int,
                 shuffle: bool = True,
                 seed=None,
                 round_up: bool = True) -> None:
        super().__init__(dataset, shuffle=shuffle, seed=seed,
                         round_up=round_up)
        if not round_up:
            raise ValueError(
                'VirtualRankSampler needs round_up=True: without padding '
                'the recipe ranks hold different numbers of samples.')
        if recipe_world_size % self.world_size:
            raise ValueError(
                f'{self.world_size} processes cannot hold '
                f'{recipe_world_size} recipe ranks: run on a divisor of '
                f'{recipe_world_size} processes.')
        self.recipe_world_size = recipe_world_size
        self.batch_size = batch_size
        self.total_size = math.ceil(
            len(dataset) / recipe_world_size) * recipe_world_size
        self.num_samples = self.total_size // self.world_size

    def order(self) -> List[int]:
        """This process's dataset indices of the epoch, as plain ints, in
        the order its batches take them."""
        # DefaultSampler's permutation and wrap-around padding, to a
        # multiple of the recipe's ranks instead of this run's.
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(len(self.dataset), generator=generator)
        else:
            order = torch.arange(len(self.dataset))
        order = order.repeat(math.ceil(self.total_size / len(order)))
        positions = virtual_rank_positions(
            self.total_size, self.rank, self.world_size,
            self.recipe_world_size, self.batch_size)
        return order[positions].tolist()
