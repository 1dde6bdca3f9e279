"""BatchGroups sends consecutive batches together and split_group cuts the
made group back into the same batches."""
import pickle

import pytest
import torch
from torch.utils.data import BatchSampler, SequentialSampler

from razor_wrn.datasets import SeededBatch, SeededIndex
from razor_wrn.datasets.batch_groups import (BatchGroup, BatchGroups,
                                             split_group)


@pytest.mark.parametrize('drop_last', [False, True])
def test_groups_hold_the_batches_in_order(drop_last):
    batches = BatchSampler(SequentialSampler(range(21)), 4, drop_last)
    groups = BatchGroups(batches, 2)
    made = list(groups)
    assert len(groups) == len(made) == 3
    assert [list(list.__iter__(group)) for group in made] == [
        [[0, 1, 2, 3], [4, 5, 6, 7]], [[8, 9, 10, 11], [12, 13, 14, 15]],
        [[16, 17, 18, 19]] + ([] if drop_last else [[20]])]
    # A worker's fetcher iterates a group as its batches' indices.
    assert list(made[0]) == list(range(8))


def test_a_group_travels_as_its_batches():
    group = BatchGroup([SeededBatch([5, 2], seed=3, epoch=1),
                        SeededBatch([7], seed=3, epoch=1)])
    copy = pickle.loads(pickle.dumps(group))
    assert type(copy) is BatchGroup
    assert [type(batch) for batch in list.__iter__(copy)] == [SeededBatch] * 2
    indices = list(copy)
    assert indices == [5, 2, 7]
    assert all(isinstance(i, SeededIndex) and (i.seed, i.epoch) == (3, 1)
               for i in indices)


def test_a_group_needs_a_batch_per_group():
    with pytest.raises(ValueError, match='per_group must be >= 1'):
        BatchGroups([], 0)


def test_split_group_gives_the_batches_as_views():
    inputs = torch.arange(10 * 3).view(10, 3)
    labels = torch.arange(10)
    batches = list(split_group(dict(inputs=inputs, labels=labels), 4))
    assert [batch['labels'].tolist() for batch in batches] == [
        [0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert torch.equal(batches[1]['inputs'], inputs[4:8])
    assert batches[1]['inputs'].data_ptr() == inputs[4].data_ptr()
