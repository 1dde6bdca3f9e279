"""LoaderTensorBatches hands out a standard loader's batches, made whole in
its workers, as the per-image pipeline's batches in the same order, on the
model's device; other pipelines are collated per image."""
import pytest
import torch
from mmengine.dataset import default_collate
from mmpretrain.registry import DATASETS
from torch.utils.data import DataLoader

import razor_wrn  # noqa: F401  (registers the datasets and transforms)
from razor_wrn.datasets import EpochSeededSampler, SeededBatchSampler
from razor_wrn.datasets import grouped_loader as grouped_loader_module
from razor_wrn.datasets.tensor_collate import TensorCollate, reduce_to_tensors
from razor_wrn.engine.loops.loader_tensor_batches import LoaderTensorBatches

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning')
SEEDED = [dict(type='SeededRandomCropFlip', crop_size=32, padding=4),
          dict(type='PackInputs')]


@pytest.fixture(scope='module')
def data_root(make_tiny_cifar10) -> str:
    return make_tiny_cifar10(per_class_train=2, per_class_test=1)


def loader(data_root: str, pipeline, workers: int = 0) -> DataLoader:
    """20 training images in batches of 8, 8, 4, seeded views of epoch 3."""
    dataset = DATASETS.build(dict(type='LenientCIFAR10', data_root=data_root,
                                  split='train', download=False,
                                  pipeline=pipeline))
    sampler = EpochSeededSampler(dataset, shuffle=True, seed=7)
    sampler.set_epoch(3)
    return DataLoader(dataset, num_workers=workers,
                      batch_sampler=SeededBatchSampler(sampler, 8),
                      collate_fn=default_collate)


def per_image(data_root: str, pipeline):
    plain = loader(data_root, pipeline)
    return [reduce_to_tensors(batch) for batch in plain]


def assert_same_batches(made, expected, device_type: str) -> None:
    assert [len(batch['labels']) for batch in made] == [8, 8, 4]
    for ours, theirs in zip(made, expected):
        assert ours['inputs'].device.type == device_type
        assert torch.equal(ours['inputs'].cpu(), theirs['inputs'])
        assert torch.equal(ours['labels'].cpu(), theirs['labels'])


def test_whole_batches_in_groups_are_the_pipelines_batches(
        data_root, monkeypatch):
    monkeypatch.setattr(grouped_loader_module, 'IMAGES_PER_MESSAGE', 16)
    batches = LoaderTensorBatches()
    standard = loader(data_root, SEEDED, workers=1)
    assert batches.prepare(standard) == ('whole batches made from arrays of '
                                         'the split, 2 per worker message')
    made = list(batches.epoch(standard, torch.device('cpu')))
    assert_same_batches(made, per_image(data_root, SEEDED), 'cpu')
    grouped, = batches.worker_loaders()
    assert grouped.batch_sampler.per_group == 2


def test_other_pipelines_are_collated_per_image(data_root):
    pipeline = [dict(type='RandomFlip', prob=0.0), dict(type='PackInputs')]
    batches = LoaderTensorBatches()
    standard = loader(data_root, pipeline)
    assert batches.prepare(standard).startswith(
        'batches made image by image (its pipeline (RandomFlip, PackInputs)')
    assert isinstance(standard.collate_fn, TensorCollate)
    assert batches.worker_loaders() == []
    made = list(batches.epoch(standard, torch.device('cpu')))
    assert_same_batches(made, per_image(data_root, pipeline), 'cpu')


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_whole_batches_reach_the_gpu(data_root):
    batches = LoaderTensorBatches()
    standard = loader(data_root, SEEDED, workers=1)
    made = list(batches.epoch(standard, torch.device('cuda')))
    assert_same_batches(made, per_image(data_root, SEEDED), 'cuda')
