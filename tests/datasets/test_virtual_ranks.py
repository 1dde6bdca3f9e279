"""Virtual ranks: N processes holding 8 / N of 8 recipe ranks take, batch
by batch, exactly the samples (and for the device loader, the crops and
flips) mmengine's DefaultSampler and the loaders give 8 ranks."""
import pytest
import torch
from mmengine.dataset import DefaultSampler
from mmengine.dataset import sampler as mmengine_sampler

from razor_wrn.datasets import SeededIndex, VirtualRankSampler
from razor_wrn.datasets.device_epoch_sampler import DeviceEpochSampler
from razor_wrn.datasets.virtual_ranks import virtual_rank_positions

SIZE, RANKS, BATCH = 43, 8, 3  # 43 samples: padded to 48, 6 per rank


def _as_rank(monkeypatch, rank: int, world_size: int) -> None:
    monkeypatch.setattr(mmengine_sampler, 'get_dist_info',
                        lambda: (rank, world_size))


def _batches(order: list, batch_size: int) -> list:
    return [order[i:i + batch_size]
            for i in range(0, len(order), batch_size)]


def _reference_batches(monkeypatch) -> list:
    """Step k's batch of each of the 8 ranks, from DefaultSampler."""
    ranks = []
    for rank in range(RANKS):
        _as_rank(monkeypatch, rank, RANKS)
        sampler = DefaultSampler(range(SIZE), shuffle=True, seed=5)
        sampler.set_epoch(2)
        ranks.append(_batches(list(sampler), BATCH))
    return [[batch[step] for batch in ranks]
            for step in range(len(ranks[0]))]


@pytest.mark.parametrize('world_size', [1, 2, 4, 8])
def test_each_process_takes_its_ranks_batches_in_turn(monkeypatch,
                                                      world_size):
    reference = _reference_batches(monkeypatch)
    held = RANKS // world_size
    for rank in range(world_size):
        _as_rank(monkeypatch, rank, world_size)
        sampler = VirtualRankSampler(range(SIZE), RANKS, BATCH, seed=5)
        sampler.set_epoch(2)
        order = list(sampler)
        assert len(order) == len(sampler) == 48 // world_size
        assert all(isinstance(i, SeededIndex) and (i.seed, i.epoch) == (5, 2)
                   for i in order)
        batches = _batches([int(i) for i in order], held * BATCH)
        # Two steps of 3 samples per rank: as many steps as 8 ranks take.
        assert batches == [
            sum(step[rank * held:(rank + 1) * held], [])
            for step in reference]


def test_the_last_chunks_are_shorter_but_equal():
    """6 samples per rank in chunks of 4: the second step holds 2 of each
    of the process's ranks."""
    positions = virtual_rank_positions(48, 1, 2, 8, 4).tolist()
    assert positions == [
        4, 12, 20, 28, 5, 13, 21, 29, 6, 14, 22, 30, 7, 15, 23, 31,
        36, 44, 37, 45, 38, 46, 39, 47]


def test_a_process_count_that_does_not_divide_the_ranks_is_refused(
        monkeypatch):
    _as_rank(monkeypatch, 0, 3)
    with pytest.raises(ValueError, match='3 processes cannot hold 8'):
        VirtualRankSampler(range(SIZE), RANKS, BATCH, seed=0)


@pytest.mark.parametrize('world_size', [1, 2, 4])
def test_device_sampler_deals_the_8_ranks_draws(world_size):
    """Order, crop offsets and flips, batch by batch."""
    ranks = [DeviceEpochSampler(SIZE, True, True, 5, rank, RANKS, 4)
             for rank in range(RANKS)]
    held = RANKS // world_size
    for rank in range(world_size):
        sampler = DeviceEpochSampler(
            SIZE, True, True, 5, rank, world_size, 4,
            virtual_ranks=dict(world_size=RANKS, batch_size=BATCH))
        for epoch_sampler in (sampler, *ranks):
            epoch_sampler.set_epoch(2)
        draws = sampler.draw()
        assert len(draws[0]) == len(sampler) == 48 // world_size
        for part in range(3):
            per_rank = [r.draw()[part] for r in ranks[rank * held:
                                                      (rank + 1) * held]]
            expected = torch.cat([
                chunk for step in range(2) for chunk in
                (d[step * BATCH:(step + 1) * BATCH] for d in per_rank)])
            assert torch.equal(draws[part], expected)
