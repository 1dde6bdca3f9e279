"""Batches of seeded indices made in the worker that loads them.

:class:`~.seeded_sampler.EpochSeededSampler` yields one
:class:`~.seeded_sampler.SeededIndex` per sample, and torch's
``BatchSampler`` lists them in the main process, which then pickles each
one (a Python call per index) to send it to a worker: about 0.15 ms per
batch of 128 on a 2-core CPU, time the training step waits for.
:class:`SeededBatchSampler` hands out each batch as one
:class:`SeededBatch` instead: plain ints (pickled by the C pickler in one
go) plus the seed and the epoch. Iterating it, as the worker's fetcher does
(``[dataset[i] for i in batch]``), gives the same ``SeededIndex`` values
the sampler would have given, so the samples, views and batches are
unchanged.

Config (mmengine builds it with the loader's ``batch_size``; put
``drop_last`` here, not on the loader, which refuses it beside a batch
sampler)::

    train_dataloader = dict(
        batch_size=128,
        sampler=dict(type='EpochSeededSampler', shuffle=True),
        batch_sampler=dict(type='SeededBatchSampler'))
"""
from typing import Iterable, Iterator, List, Tuple

from mmengine.registry import DATA_SAMPLERS
from torch.utils.data import BatchSampler

from ..errors import UserError
from .seeded_sampler import EpochSeededSampler, SeededIndex


class SeededBatch(list):
    """A batch of dataset indices, stored as plain ints, that iterates as
    the :class:`SeededIndex` values of ``(seed, epoch)``.

    Args:
        indices (Iterable[int]): The batch's dataset indices.
        seed (int): The sampler's seed.
        epoch (int): The epoch the batch was drawn for.
    """

    def __init__(self, indices: Iterable[int], seed: int, epoch: int) -> None:
        super().__init__(indices)
        self.seed = seed
        self.epoch = epoch

    def __iter__(self) -> Iterator[SeededIndex]:
        seed, epoch = self.seed, self.epoch
        return (SeededIndex(index, seed, epoch)
                for index in list.__iter__(self))

    def __reduce__(self) -> Tuple[type, Tuple[List[int], int, int]]:
        # list(self) would iterate as SeededIndex values: take the ints.
        return SeededBatch, (list.__getitem__(self, slice(None)), self.seed,
                             self.epoch)

    def __repr__(self) -> str:
        return (f'SeededBatch({list.__repr__(self)}, seed={self.seed}, '
                f'epoch={self.epoch})')


@DATA_SAMPLERS.register_module()
class SeededBatchSampler(BatchSampler):
    """torch's ``BatchSampler`` over an :class:`EpochSeededSampler` (or a
    subclass, e.g. ``VirtualRankSampler``): the same batches, each a
    :class:`SeededBatch`.

    Args:
        sampler (EpochSeededSampler): The loader's sampler.
        batch_size (int): Samples per batch.
        drop_last (bool): Drop the last batch of an epoch if it is smaller.
            Defaults to False.

    Raises:
        UserError: If ``sampler`` is not an ``EpochSeededSampler``.
    """

    def __init__(self, sampler: EpochSeededSampler, batch_size: int,
                 drop_last: bool = False) -> None:
        if not isinstance(sampler, EpochSeededSampler):
            raise UserError(
                'SeededBatchSampler batches the indices of an '
                f'EpochSeededSampler, not of a {type(sampler).__name__}: set '
                "train_dataloader.sampler=dict(type='EpochSeededSampler') or "
                'remove train_dataloader.batch_sampler.')
        super().__init__(sampler, batch_size, drop_last)

    def __iter__(self) -> Iterator[SeededBatch]:
        sampler = self.sampler
        order, seed, epoch = sampler.order(), sampler.seed, sampler.epoch
        end = len(order) - len(order) % self.batch_size if self.drop_last \
            else len(order)
        for start in range(0, end, self.batch_size):
            yield SeededBatch(order[start:start + self.batch_size], seed,
                              epoch)
