"""Several batches per message between a loader's workers and its process.

torch's ``DataLoader`` sends each batch's indices to a worker and the batch
back as one message each way: on a 2-core CPU about 0.45 ms of the training
process's CPU time per batch (the main thread receiving, the index queues'
feeder threads sending), whatever the batch's size. :class:`BatchGroups`
hands the loader groups of consecutive batches instead, each a
:class:`BatchGroup` that iterates as the indices of its batches in order,
so a worker makes the whole group as one batch; :func:`split_group` cuts
it back into the batches. The batches, their order and their samples stay
the same.
"""
import math
from typing import Dict, Iterable, Iterator, List, Tuple

import torch


class BatchGroup(list):
    """Consecutive batches (each a list of indices, e.g. a
    ``SeededBatch``), iterating as their indices one after another."""

    def __iter__(self) -> Iterator:
        for batch in list.__iter__(self):
            yield from batch

    def __reduce__(self) -> Tuple[type, Tuple[List]]:
        # Pickle the batches, not the indices the group iterates as.
        return BatchGroup, (list(list.__iter__(self)),)


class BatchGroups:
    """A batch sampler's batches, ``per_group`` per :class:`BatchGroup`
    (fewer in an epoch's last group).

    Args:
        batch_sampler (Iterable): The loader's batch sampler.
        per_group (int): Batches per group (>= 1).
    """

    def __init__(self, batch_sampler: Iterable, per_group: int) -> None:
        if per_group < 1:
            raise ValueError(f'per_group must be >= 1, got {per_group}')
        self.batch_sampler = batch_sampler
        self.per_group = per_group

    def __len__(self) -> int:
        return math.ceil(len(self.batch_sampler) / self.per_group)

    def __iter__(self) -> Iterator[BatchGroup]:
        group = BatchGroup()
        for batch in self.batch_sampler:
            group.append(batch)
            if len(group) == self.per_group:
                yield group
                group = BatchGroup()
        if group:
            yield group


def split_group(group: Dict[str, torch.Tensor], batch_size: int
                ) -> Iterator[Dict[str, torch.Tensor]]:
    """The batches of a made group: consecutive slices of ``batch_size``
    samples (views, no copy) of each tensor; the last may be smaller (an
    epoch's last batch when the loader keeps it).

    Args:
        group (dict): Tensors with the group's samples along dim 0.
        batch_size (int): Samples per batch.
    """
    size = len(next(iter(group.values())))
    for start in range(0, size, batch_size):
        yield {key: value[start:start + batch_size]
               for key, value in group.items()}
