"""Contracts of the (seed, epoch, sample index) crop + flip and its sampler.

Pixels equal mmpretrain's ``RandomCrop(32, padding=4)`` + ``RandomFlip`` for
every forced offset and flip; the draws have their distribution; a batch
depends on neither the number of workers nor their history; each sample
records its view, through ``PackInputs`` and the stacked collate.
"""
import pickle
from typing import Dict, List, Tuple

import numpy as np
import pytest
import torch

import razor_wrn  # noqa: F401  (compat shim before any mmrazor import)
from mmcv.transforms import RandomFlip
from mmengine.runner import Runner
from mmpretrain.datasets.transforms import PackInputs, RandomCrop

from razor_wrn.datasets import SeededIndex, SeededRandomCropFlip
from razor_wrn.datasets import transforms as seeded_transforms
from razor_wrn.datasets.device_cifar import DeviceTensorLoader
from razor_wrn.datasets.transforms import view_draws

# chi2.ppf(0.999, dof): a correct draw fails one of these with p = 0.001.
CHI2_999 = {1: 10.8276, 8: 26.1245, 80: 124.8392}
PACK = PackInputs(meta_keys=('sample_idx', 'img_shape', 'crop_offset',
                             'flip', 'flip_direction'))


def mmpretrain_views(img: np.ndarray, offset: Tuple[int, int],
                     flip: bool) -> torch.Tensor:
    """mmpretrain's pipeline with its draws forced; the packed CHW input."""
    crop = RandomCrop(crop_size=32, padding=4)
    crop.rand_crop_params = lambda _: (*offset, 32, 32)
    mirror = RandomFlip(prob=0.5, direction='horizontal')
    mirror._choose_direction = lambda: 'horizontal' if flip else None
    return PackInputs()(mirror(crop(dict(img=img.copy()))))['inputs']


def chi_square(counts: np.ndarray) -> float:
    expected = counts.sum() / counts.size
    return float(((counts - expected)**2 / expected).sum())


def test_pixels_and_metainfo_equal_mmpretrain_for_every_view(monkeypatch):
    img = np.random.default_rng(0).integers(1, 256, (32, 32, 3), np.uint8)
    transform = SeededRandomCropFlip(crop_size=32, padding=4, flip_prob=0.5)
    for flip in (False, True):
        for oy in range(9):
            for ox in range(9):
                monkeypatch.setattr(seeded_transforms, 'view_draws',
                                    lambda *_, v=(oy, ox, flip): v)
                packed = PACK(transform(
                    dict(img=img.copy(), sample_idx=SeededIndex(7, 0, 0))))
                assert torch.equal(packed['inputs'],
                                   mmpretrain_views(img, (oy, ox), flip))
                meta = packed['data_samples'].metainfo
                assert (meta['sample_idx'], meta['crop_offset'],
                        meta['flip']) == (7, (oy, ox), flip)
                assert type(meta['sample_idx']) is int


def test_draws_are_uniform_independent_and_a_function_of_the_key():
    draws = [view_draws(3, 1, i, (9, 9), 0.5) for i in range(8100)]
    joint = np.zeros((9, 9, 2))
    for oy, ox, flip in draws:
        joint[oy, ox, int(flip)] += 1
    assert chi_square(joint.sum((1, 2))) < CHI2_999[8]
    assert chi_square(joint.sum((0, 2))) < CHI2_999[8]
    assert chi_square(joint.sum((0, 1))) < CHI2_999[1]
    assert chi_square(joint.sum(2)) < CHI2_999[80]  # oy, ox independent
    assert draws[5] == view_draws(3, 1, 5, (9, 9), 0.5)
    # Another epoch or seed is another view for most samples (1/162 equal).
    for key in ((3, 2), (4, 1)):
        same = sum(d == view_draws(*key, i, (9, 9), 0.5)
                   for i, d in enumerate(draws[:810]))
        assert same < 20
    assert all(view_draws(0, 0, i, (9, 9), 1.0)[2] for i in range(50))
    assert not any(view_draws(0, 0, i, (9, 9), 0.0)[2] for i in range(50))


@pytest.mark.parametrize('size', [1, 2])
def test_a_flipped_crop_of_any_width_packs_into_a_tensor(size):
    """A crop one pixel wide, flipped: the image reaches PackInputs with
    positive strides (a reversed 1-wide view would keep a negative one)."""
    img = np.arange(size * size * 3, dtype=np.uint8).reshape(size, size, 3)
    crop = SeededRandomCropFlip(crop_size=size, padding=0, flip_prob=1.0)
    packed = PackInputs()(crop(dict(img=img, sample_idx=SeededIndex(
        3, seed=0, epoch=0))))
    assert torch.equal(packed['inputs'],
                       torch.from_numpy(img[:, ::-1].copy()).permute(2, 0, 1))


def test_a_plain_index_is_refused_with_the_fix():
    transform = SeededRandomCropFlip()
    with pytest.raises(ValueError, match="type='EpochSeededSampler'"):
        transform(dict(img=np.zeros((32, 32, 3), np.uint8), sample_idx=3))


def test_seeded_index_survives_pickling():
    index = pickle.loads(pickle.dumps(SeededIndex(5, 11, 2)))
    assert (type(index), int(index), index.seed, index.epoch) == (
        SeededIndex, 5, 11, 2)


def train_loader(data_root: str, num_workers: int):
    """The cifar10_bs16 train loader (pipeline, sampler, batch sampler,
    collate), seed 5."""
    from mmengine.config import Config
    cfg = Config.fromfile('configs/_base_/datasets/cifar10_bs16.py')
    loader = cfg.train_dataloader
    loader.update(batch_size=20, num_workers=num_workers,
                  persistent_workers=num_workers > 0)
    loader.dataset.update(data_root=data_root, download=False)
    return Runner.build_dataloader(loader, seed=5)


def epochs(loader, count: int) -> List[List[Dict]]:
    """``count`` epochs of (inputs, views) as the Runner's loop sees them."""
    out = []
    for epoch in range(count):
        loader.batch_sampler.sampler.set_epoch(epoch)
        out.append([(batch['inputs'], [
            (s.sample_idx, s.crop_offset, s.flip)
            for s in batch['data_samples']
        ]) for batch in loader])
    return out


@pytest.mark.filterwarnings('ignore::UserWarning')
def test_views_depend_on_neither_workers_nor_history(tiny_cifar10):
    serial = epochs(train_loader(tiny_cifar10, 0), 3)
    persistent = epochs(train_loader(tiny_cifar10, 2), 3)
    # A fresh loader started at epoch 2 (a resumed run) sees epoch 2.
    fresh = train_loader(tiny_cifar10, 0)
    fresh.batch_sampler.sampler.set_epoch(2)
    resumed = [(b['inputs'], [(s.sample_idx, s.crop_offset, s.flip)
                              for s in b['data_samples']]) for b in fresh]
    for ours, theirs in zip(serial + [serial[2]], persistent + [resumed]):
        for (inputs, views), (inputs2, views2) in zip(ours, theirs):
            assert torch.equal(inputs, inputs2) and views == views2
    first, second = (sorted(v for _, vs in e for v in vs) for e in serial[:2])
    assert [v[0] for v in first] == list(range(80))  # every image once
    assert first != second  # epochs differ
    # The recorded view is the one in the pixels: compare with mmpretrain.
    dataset = train_loader(tiny_cifar10, 0).dataset
    inputs, views = serial[1][0]
    for image, (index, offset, flip) in zip(inputs[:4], views[:4]):
        img = dataset.get_data_info(index)['img']
        assert torch.equal(image, mmpretrain_views(img, offset, flip))


def test_device_loader_samples_name_their_views():
    images = torch.randint(0, 256, (30, 3, 32, 32), dtype=torch.uint8)
    loader = DeviceTensorLoader(images, torch.zeros(30), {}, batch_size=16,
                                device='cpu', seed=1)
    loader.set_epoch(3)
    indices, offsets, flips = loader.sampler.draw()
    batches = list(loader)
    samples = [s for b in batches for s in b['data_samples']]
    assert [(s.sample_idx, s.crop_offset, s.flip) for s in samples] == [
        (i, tuple(o), f) for i, o, f in zip(indices.tolist(),
                                            offsets.tolist(), flips.tolist())
    ]
    image = images[samples[0].sample_idx].permute(1, 2, 0).numpy()
    assert torch.equal(
        batches[0]['inputs'][0],
        mmpretrain_views(image, samples[0].crop_offset, samples[0].flip))
