"""SeededBatchSampler gives torch's BatchSampler's batches, each sent to a
worker as plain ints plus the seed and epoch."""
import pickle

import pytest
import torch.multiprocessing  # noqa: F401  (registers the tensor reducers)
from multiprocessing.reduction import ForkingPickler
from torch.utils.data import BatchSampler, SequentialSampler

from razor_wrn.datasets import (EpochSeededSampler, SeededBatch,
                                SeededBatchSampler, SeededIndex,
                                VirtualRankSampler)
from razor_wrn.errors import UserError


def as_tuples(batches):
    return [[(type(i), int(i), i.seed, i.epoch) for i in batch]
            for batch in batches]


@pytest.mark.parametrize('drop_last', [False, True])
@pytest.mark.parametrize('make_sampler', [
    lambda: EpochSeededSampler(range(50), shuffle=True, seed=3),
    lambda: VirtualRankSampler(range(50), recipe_world_size=8, batch_size=2,
                               seed=3),
], ids=['epoch-seeded', 'virtual-ranks'])
def test_the_batches_of_torchs_batch_sampler(make_sampler, drop_last):
    sampler = make_sampler()
    sampler.set_epoch(4)
    ours = SeededBatchSampler(sampler, 16, drop_last)
    theirs = BatchSampler(sampler, 16, drop_last)
    assert as_tuples(ours) == as_tuples(theirs)
    assert len(ours) == len(theirs) == len(list(ours))
    assert {index[3] for batch in as_tuples(ours) for index in batch} == {4}


def test_a_batch_travels_as_plain_ints_and_iterates_as_seeded_indices():
    batch = SeededBatch([7, 0, 3], seed=11, epoch=2)
    message = ForkingPickler.dumps((0, batch))
    # No SeededIndex is pickled (one reduce call each): the ints go as a
    # plain list.
    assert b'SeededIndex' not in bytes(message)
    _, received = pickle.loads(message)
    assert as_tuples([received]) == [[(SeededIndex, 7, 11, 2),
                                      (SeededIndex, 0, 11, 2),
                                      (SeededIndex, 3, 11, 2)]]
    assert repr(received) == 'SeededBatch([7, 0, 3], seed=11, epoch=2)'


def test_another_sampler_is_refused_with_the_fix():
    with pytest.raises(UserError, match="sampler=dict.*EpochSeededSampler"):
        SeededBatchSampler(SequentialSampler(range(4)), 2)
