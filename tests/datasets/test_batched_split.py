"""BatchedSplit makes a batch in one go with the bytes the per-image
pipeline and TensorCollate give, and refuses pipelines it cannot make."""
import re

import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate
from mmpretrain.registry import DATASETS

import razor_wrn  # noqa: F401  (registers the datasets and transforms)
from razor_wrn.datasets import SeededBatch
from razor_wrn.datasets.batched_split import batched_split_of
from razor_wrn.datasets.tensor_collate import TensorCollate

SEEDED = [dict(type='SeededRandomCropFlip', crop_size=32, padding=4,
               flip_prob=0.5),
          dict(type='PackInputs', meta_keys=('sample_idx', 'crop_offset',
                                             'flip'))]

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning')


def dataset(data_root: str, pipeline):
    return DATASETS.build(dict(
        type='LenientCIFAR10', data_root=data_root, split='train',
        download=False, pipeline=pipeline))


@pytest.fixture(scope='module')
def data_root(make_tiny_cifar10) -> str:
    return make_tiny_cifar10(per_class_train=2, per_class_test=1)


@pytest.mark.parametrize('pipeline', [SEEDED, [dict(type='PackInputs')]],
                         ids=['seeded crop-flip', 'unaugmented'])
def test_a_batch_has_the_pipelines_bytes(data_root, pipeline):
    per_image = dataset(data_root, pipeline)
    split, why_not = batched_split_of(per_image)
    assert why_not == ''
    collate = TensorCollate(default_collate)
    views = set()
    for epoch in (0, 5):
        batch = SeededBatch([19, 3, 0, 7, 12, 3, 8, 15, 1, 10], seed=11,
                            epoch=epoch)
        made = split.__getitems__(batch)
        samples = [per_image[index] for index in batch]
        expected = collate(samples)
        assert made['inputs'].dtype == np.uint8
        assert made['inputs'].shape == (10, 3, 32, 32)
        assert made['labels'].dtype == np.int64
        np.testing.assert_array_equal(made['inputs'], expected['inputs'])
        np.testing.assert_array_equal(made['labels'], expected['labels'])
        views |= {(sample['data_samples'].metainfo.get('crop_offset'),
                   sample['data_samples'].metainfo.get('flip'))
                  for sample in samples}
    if pipeline is SEEDED:
        # The draws covered flips and off-centre corners on both axes.
        assert {flip for _, flip in views} == {True, False}
        assert len({oy for (oy, _), _ in views}) > 1
        assert len({ox for (_, ox), _ in views}) > 1


def test_tensors_where_the_loader_pins_memory(data_root):
    split, _ = batched_split_of(dataset(data_root, SEEDED), as_arrays=False)
    made = split.__getitems__(SeededBatch([2, 4], seed=0, epoch=1))
    assert isinstance(made['inputs'], torch.Tensor)
    assert made['inputs'].is_contiguous()
    assert made['labels'].dtype == torch.int64


def test_an_augmented_split_needs_seeded_indices(data_root):
    split, _ = batched_split_of(dataset(data_root, SEEDED))
    with pytest.raises(ValueError, match='EpochSeededSampler'):
        split.__getitems__([1, 2])


@pytest.mark.parametrize('pipeline, reason', [
    ([dict(type='RandomFlip', prob=0.5), dict(type='PackInputs')],
     r'its pipeline \(RandomFlip, PackInputs\) is not'),
    ([dict(SEEDED[0], crop_size=28), dict(type='PackInputs')],
     r'its crop \(28\) is not the size of its images \(32x32\)'),
    ([dict(type='PackInputs', input_key='gt_label')],
     'PackInputs reads another key than img'),
])
def test_other_pipelines_are_refused_with_the_reason(data_root, pipeline,
                                                     reason):
    split, why_not = batched_split_of(dataset(data_root, pipeline))
    assert split is None
    assert why_not and re.search(reason, why_not)
