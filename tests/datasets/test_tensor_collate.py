"""TensorCollate gives the images and labels the collated samples hold."""
import torch
from mmengine.dataset import default_collate, pseudo_collate
from mmpretrain.structures import DataSample

from razor_wrn.datasets.tensor_collate import TensorCollate, reduce_to_tensors


def samples():
    generator = torch.Generator().manual_seed(0)
    return [dict(inputs=torch.randint(0, 256, (3, 4, 5), dtype=torch.uint8,
                                      generator=generator),
                 data_samples=DataSample().set_gt_label(label))
            for label in (3, 0, 7)]


def test_both_mmengine_collates_reduce_to_the_same_tensors():
    items = samples()
    for collate in (default_collate, pseudo_collate):
        batch = TensorCollate(collate)(items)
        assert batch.keys() == {'inputs', 'labels'}
        assert torch.equal(batch['inputs'],
                           torch.stack([item['inputs'] for item in items]))
        assert batch['labels'].dtype == torch.int64
        assert torch.equal(batch['labels'], torch.tensor([3, 0, 7]))


def test_a_reduced_batch_is_kept_as_it_is():
    batch = TensorCollate(default_collate)(samples())
    assert reduce_to_tensors(batch) is batch
