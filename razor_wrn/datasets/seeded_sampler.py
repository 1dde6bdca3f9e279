"""A sampler whose indices carry the run's seed and the epoch.

A transform that draws its randomness from numpy's global generator inside
a worker process depends on which worker ran it and on everything that
worker drew before: persistent workers carry that state across epochs,
``num_workers=0`` never saves it in a checkpoint, and non-persistent workers
(re-seeded the same way every epoch) repeat the same augmentation each
epoch. Drawing from ``(seed, epoch, sample index)`` instead makes every
view a function of the run and the sample only, so a resumed run sees the
views the uninterrupted run saw, and epochs differ.

The epoch is set in the main process (mmengine's ``DistSamplerSeedHook``
calls ``sampler.set_epoch(epoch)`` before each training epoch) and would not
reach the dataset copies inside persistent workers. It travels with the
index instead: :class:`EpochSeededSampler` yields :class:`SeededIndex`
integers, which index any dataset like plain ints, pickle through the
worker index queues, and reach the pipeline as ``results['sample_idx']``
(mmengine's ``BaseDataset.get_data_info`` stores the index it was given).

Config::

    train_dataloader = dict(
        sampler=dict(type='EpochSeededSampler', shuffle=True),
        dataset=dict(pipeline=[dict(type='SeededRandomCropFlip', ...), ...]))
"""
from typing import Iterator, List, Tuple

from mmengine.dataset import DefaultSampler
from mmengine.registry import DATA_SAMPLERS


class SeededIndex(int):
    """A dataset index that also names the run's seed and the epoch.

    Args:
        index (int): The dataset index.
        seed (int): The sampler's seed (the run's ``randomness.seed``).
        epoch (int): The epoch the index was drawn for.
    """

    seed: int
    epoch: int

    def __new__(cls, index: int, seed: int, epoch: int) -> 'SeededIndex':
        self = super().__new__(cls, index)
        self.seed = seed
        self.epoch = epoch
        return self

    def __reduce__(self) -> Tuple[type, Tuple[int, int, int]]:
        return SeededIndex, (int(self), self.seed, self.epoch)

    def __repr__(self) -> str:
        return (f'SeededIndex({int(self)}, seed={self.seed}, '
                f'epoch={self.epoch})')


@DATA_SAMPLERS.register_module()
class EpochSeededSampler(DefaultSampler):
    """mmengine's ``DefaultSampler`` (same order, padding and sharding)
    yielding :class:`SeededIndex` values that carry ``(seed, epoch)``.

    Args:
        dataset (Sized): The dataset.
        shuffle (bool): Permute the order every epoch. Defaults to True.
        seed (int, optional): Base seed; None draws one shared by all
            ranks. The Runner passes the run's seed.
        round_up (bool): Pad to a multiple of the world size by wrapping
            around. Defaults to True.
    """

    def order(self) -> List[int]:
        """This epoch's dataset indices for this rank, as plain ints."""
        return list(super().__iter__())

    def __iter__(self) -> Iterator[SeededIndex]:
        seed, epoch = self.seed, self.epoch
        return (SeededIndex(index, seed, epoch) for index in self.order())
