"""Contracts of the device-resident CIFAR loader.

Its batches must be distributed exactly like mmpretrain's
``RandomCrop(crop_size=32, padding=4)`` + ``RandomFlip(prob=0.5)`` +
``PackInputs`` pipeline and cover the split like mmengine's
``DefaultSampler``; these tests compare with those peers and decode the
augmentation back out of position-coded images.
"""
import math
from typing import List, Tuple

import numpy as np
import pytest
import torch

import razor_wrn  # noqa: F401  (compat shim before any mmrazor import)
from mmcv.transforms import RandomFlip
from mmengine.dataset import pseudo_collate
from mmpretrain.datasets.transforms import PackInputs, RandomCrop
from mmpretrain.models import ClsDataPreprocessor

from razor_wrn.datasets import LenientCIFAR10, LenientCIFAR100
from razor_wrn.datasets import device_cifar
from razor_wrn.datasets.crop_flip import crop_flip
from razor_wrn.datasets.device_cifar import (DeviceCIFAR10Loader,
                                             DeviceCIFAR100Loader,
                                             DeviceTensorLoader,
                                             device_loader_class)

CIFAR_MEAN = [125.307, 122.961, 113.8575]
CIFAR_STD = [51.5865, 50.847, 51.255]
META = {'classes': tuple(f'c{i}' for i in range(10))}

# chi2.ppf(0.999, dof): a correct loader fails one of these with p = 0.001.
CHI2_999 = {1: 10.8276, 8: 26.1245, 80: 124.8392}


def chi_square(counts: torch.Tensor) -> float:
    """Pearson statistic of ``counts`` against equal expected counts."""
    counts = counts.double()
    expected = counts.sum() / counts.numel()
    return float(((counts - expected)**2 / expected).sum())


def position_images(num: int) -> torch.Tensor:
    """uint8 ``(num, 3, 32, 32)``: channel 0 = row + 1, channel 1 = column
    + 1 (so zero only in padding), channel 2 = image index mod 251."""
    images = torch.empty(num, 3, 32, 32, dtype=torch.uint8)
    images[:, 0] = torch.arange(1, 33, dtype=torch.uint8)[:, None]
    images[:, 1] = torch.arange(1, 33, dtype=torch.uint8)[None, :]
    images[:, 2] = (torch.arange(num) % 251).to(torch.uint8)[:, None, None]
    return images


def decode(inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Recover ``(offsets (B, 2), flips (B,))`` from augmented
    :func:`position_images`.

    Output pixel (16, 16) always lies inside the image: its row code is
    ``13 + oy``, its column code ``13 + ox`` unflipped or ``12 + ox`` flipped,
    and the column code rises to the right unless flipped.
    """
    rows = inputs[:, 0, 16, 16].long()
    cols = inputs[:, 1, 16, 16].long()
    flips = inputs[:, 1, 16, 17].long() < cols
    offsets = torch.stack([rows - 13, cols - 13 + flips.long()], dim=1)
    return offsets, flips


def collect(loader) -> Tuple[torch.Tensor, torch.Tensor]:
    """Concatenate one epoch of ``(inputs, labels)``."""
    inputs, labels = [], []
    for batch in loader:
        inputs.append(batch['inputs'])
        labels.append(torch.cat([s.gt_label for s in batch['data_samples']]))
    return torch.cat(inputs), torch.cat(labels)


def tensor_loader(num: int, **kwargs) -> DeviceTensorLoader:
    """A CPU loader over :func:`position_images` whose labels are the
    image indices, so label = identity of the image."""
    kwargs.setdefault('device', 'cpu')
    return DeviceTensorLoader(position_images(num), torch.arange(num), META,
                              **kwargs)


def mmpretrain_train_pipeline(img: np.ndarray, offset: Tuple[int, int],
                              flip: bool) -> torch.Tensor:
    """mmpretrain's CIFAR train pipeline on ``img`` (HWC) with its random
    draws forced to ``offset`` and ``flip``; returns the packed CHW input."""
    crop = RandomCrop(crop_size=32, padding=4)
    crop.rand_crop_params = lambda _: (*offset, 32, 32)
    mirror = RandomFlip(prob=0.5, direction='horizontal')
    mirror._choose_direction = lambda: 'horizontal' if flip else None
    results = dict(img=img.copy(), gt_label=0)
    return PackInputs()(mirror(crop(results)))['inputs']


@pytest.mark.parametrize('flip', [False, True])
def test_crop_flip_equals_mmpretrain_pipeline_for_every_offset(flip):
    img = np.random.default_rng(0).integers(1, 256, (32, 32, 3), np.uint8)
    image = torch.from_numpy(img).permute(2, 0, 1)[None]
    for oy in range(9):
        for ox in range(9):
            expected = mmpretrain_train_pipeline(img, (oy, ox), flip)
            ours = crop_flip(image, torch.tensor([[oy, ox]]),
                             torch.tensor([flip]))[0]
            assert torch.equal(ours, expected), (oy, ox, flip)


def test_crop_pads_with_exact_zeros():
    image = torch.full((1, 3, 32, 32), 200, dtype=torch.uint8)
    # Corner (0, 8): rows 0..3 come from the top padding, columns 28..31
    # from the right padding; the rest is the image.
    out = crop_flip(image, torch.tensor([[0, 8]]), torch.tensor([False]))[0]
    expected = torch.full((3, 32, 32), 200, dtype=torch.uint8)
    expected[:, :4, :] = 0
    expected[:, :, 28:] = 0
    assert torch.equal(out, expected)
    assert torch.equal(
        out, mmpretrain_train_pipeline(np.full((32, 32, 3), 200, np.uint8),
                                       (0, 8), False))


def test_decode_recovers_known_offsets_and_flips():
    # The statistical tests below trust decode(); check it on known draws.
    offsets = torch.tensor([[0, 0], [8, 8], [3, 7], [8, 0]])
    flips = torch.tensor([False, True, True, False])
    out = crop_flip(position_images(4), offsets, flips)
    decoded_offsets, decoded_flips = decode(out)
    assert torch.equal(decoded_offsets, offsets)
    assert torch.equal(decoded_flips, flips)


def test_augmentation_is_uniform_independent_and_exact():
    loader = tensor_loader(2000, batch_size=500, seed=0)
    offsets, flips = [], []
    for epoch in range(5):
        loader.set_epoch(epoch)
        inputs, ids = collect(loader)
        epoch_offsets, epoch_flips = decode(inputs)
        # Nothing but crop + flip happened to each image.
        assert torch.equal(
            inputs,
            crop_flip(position_images(2000)[ids], epoch_offsets, epoch_flips))
        offsets.append(epoch_offsets)
        flips.append(epoch_flips)
    offsets, flips = torch.cat(offsets), torch.cat(flips)  # 10000 draws

    for axis in range(2):
        counts = torch.bincount(offsets[:, axis], minlength=9)
        assert counts.numel() == 9  # no offset outside 0..8
        assert counts.min() > 0  # 0 and 8 both occur
        assert chi_square(counts) < CHI2_999[8]
    joint = torch.bincount(offsets[:, 0] * 9 + offsets[:, 1], minlength=81)
    assert chi_square(joint) < CHI2_999[80]
    assert chi_square(torch.bincount(flips.long(), minlength=2)) < CHI2_999[1]


def test_uniformity_check_rejects_an_off_by_one_range():
    # The check above must catch randint(0, 8) (offsets 0..7, a classic bug)
    # at the same sample size.
    draws = torch.randint(0, 8, (10000, ),
                          generator=torch.Generator().manual_seed(0))
    assert chi_square(torch.bincount(draws, minlength=9)) > CHI2_999[8]
    biased = torch.rand(10000, generator=torch.Generator().manual_seed(0))
    assert chi_square(torch.bincount((biased < 0.48).long())) > CHI2_999[1]


@pytest.mark.parametrize('drop_last,num_batches,last_size',
                         [(False, 16, 40), (True, 15, 64)])
def test_epoch_sees_every_image_exactly_once(drop_last, num_batches,
                                             last_size):
    loader = tensor_loader(1000, batch_size=64, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(batches) == num_batches
    assert len(batches[-1]['data_samples']) == last_size
    _, ids = collect(loader)
    assert ids.unique().numel() == ids.numel()
    if drop_last:
        assert ids.numel() == 960
    else:
        assert torch.equal(ids.sort().values, torch.arange(1000))


@pytest.mark.parametrize('drop_last', [False, True])
def test_epoch_augmented_in_chunks_equals_each_batch_augmented_alone(
        monkeypatch, drop_last):
    # Augmenting the epoch at its start, a chunk at a time, must give each
    # batch the bytes of its own draws: a chunk size (7) that divides
    # neither the batch (64) nor the epoch catches a chunk or batch sliced
    # at the wrong offset.
    monkeypatch.setattr(device_cifar, 'EPOCH_CHUNK', 7)
    loader = tensor_loader(300, batch_size=64, drop_last=drop_last)
    loader.set_epoch(3)
    indices, offsets, flips = loader.sampler.draw()
    images = position_images(300)
    tensors, batches = list(loader.tensor_batches()), list(loader)
    assert len(tensors) == len(batches) == (4 if drop_last else 5)
    for number, (tensor, batch) in enumerate(zip(tensors, batches)):
        part = slice(number * 64, (number + 1) * 64)
        expected = crop_flip(images[indices[part]], offsets[part],
                             flips[part])
        assert torch.equal(tensor['inputs'], expected)
        assert torch.equal(batch['inputs'], expected)
        assert torch.equal(tensor['labels'], indices[part])
        assert [int(s.gt_label) for s in batch['data_samples']] == \
            indices[part].tolist()


def test_order_is_a_fresh_permutation_per_epoch_and_reproducible():
    first = tensor_loader(500, batch_size=100, seed=3)
    epochs: List[Tuple[torch.Tensor, torch.Tensor]] = []
    for epoch in range(3):
        first.set_epoch(epoch)
        epochs.append(collect(first))
    assert not torch.equal(epochs[0][1], epochs[1][1])
    assert not torch.equal(epochs[0][1], torch.arange(500))
    # Iterating again without set_epoch repeats the epoch (DefaultSampler).
    assert torch.equal(collect(first)[1], epochs[2][1])

    # A resumed run jumps straight to epoch 2 and sees the same batches.
    resumed = tensor_loader(500, batch_size=100, seed=3)
    resumed.sampler.set_epoch(2)
    inputs, ids = collect(resumed)
    assert torch.equal(inputs, epochs[2][0])
    assert torch.equal(ids, epochs[2][1])

    other_seed = tensor_loader(500, batch_size=100, seed=4)
    other_seed.set_epoch(2)
    assert not torch.equal(collect(other_seed)[1], ids)


def test_same_seed_gives_identical_batches():
    batches_a = list(tensor_loader(300, batch_size=64, seed=7))
    batches_b = list(tensor_loader(300, batch_size=64, seed=7))
    assert len(batches_a) == len(batches_b) == 5
    for a, b in zip(batches_a, batches_b):
        assert torch.equal(a['inputs'], b['inputs'])
        assert [s.gt_label.item() for s in a['data_samples']] == \
            [s.gt_label.item() for s in b['data_samples']]


def test_val_mode_returns_images_unchanged_in_order():
    images = torch.randint(0, 256, (130, 3, 32, 32), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))
    labels = torch.randint(0, 10, (130, ),
                           generator=torch.Generator().manual_seed(1))
    loader = DeviceTensorLoader(images, labels, META, batch_size=64,
                                augment=False, shuffle=False, device='cpu')
    loader.set_epoch(5)  # must not matter without shuffle or augmentation
    inputs, out_labels = collect(loader)
    assert len(loader) == 3
    assert torch.equal(inputs, images)
    assert torch.equal(out_labels, labels)


@pytest.mark.parametrize('num,world_size', [(12, 3), (10, 3), (10, 4)])
def test_ranks_see_disjoint_shards_like_default_sampler(
        monkeypatch, num, world_size):
    per_rank = math.ceil(num / world_size)
    shards, val_shards = [], []
    for rank in range(world_size):
        monkeypatch.setattr(device_cifar, 'get_dist_info',
                            lambda rank=rank: (rank, world_size))
        loader = tensor_loader(num, batch_size=2, seed=0)
        assert len(loader.sampler) == per_rank
        assert len(loader) == math.ceil(per_rank / 2)
        shards.append(collect(loader)[1])
        val = tensor_loader(num, batch_size=2, augment=False, shuffle=False)
        val_shards.append(collect(val)[1])
    everything = torch.cat(shards)
    assert everything.numel() == per_rank * world_size
    assert torch.equal(everything.unique(), torch.arange(num))
    # Only the wrap-around padding repeats an image.
    assert everything.numel() - everything.unique().numel() == \
        per_rank * world_size - num
    # mmengine's collect_results interleaves the ranks and truncates to
    # len(dataset): that must give the split in order.
    interleaved = torch.stack(val_shards, dim=1).flatten()[:num]
    assert torch.equal(interleaved, torch.arange(num))


def test_batches_feed_cls_data_preprocessor_like_the_standard_pipeline():
    """Preprocessed device batches equal preprocessed ``PackInputs`` +
    ``pseudo_collate`` batches of the same images."""
    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([3, 1, 4, 1, 5, 9])
    loader = DeviceTensorLoader(images, labels, META, batch_size=6,
                                augment=False, shuffle=False, device='cpu')
    batch = next(iter(loader))
    assert batch['inputs'].dtype == torch.uint8
    assert batch['inputs'].shape == (6, 3, 32, 32)

    standard = pseudo_collate([
        PackInputs()(dict(img=img.permute(1, 2, 0).numpy(), gt_label=int(y)))
        for img, y in zip(images, labels)
    ])
    preprocessor = ClsDataPreprocessor(
        num_classes=10, mean=CIFAR_MEAN, std=CIFAR_STD, to_rgb=False)
    ours = preprocessor(batch, training=True)
    theirs = preprocessor(standard, training=True)
    assert torch.equal(ours['inputs'], theirs['inputs'])
    assert torch.allclose(
        ours['inputs'][0, 0],
        (images[0, 0].float() - CIFAR_MEAN[0]) / CIFAR_STD[0])
    assert [s.gt_label.tolist() for s in ours['data_samples']] == \
        [[3], [1], [4], [1], [5], [9]]


def test_rejects_images_that_are_not_uint8_nchw():
    with pytest.raises(ValueError, match='uint8'):
        DeviceTensorLoader(torch.zeros(4, 3, 32, 32), torch.zeros(4), META)
    with pytest.raises(ValueError, match='3 labels for 4 images'):
        DeviceTensorLoader(
            torch.zeros(4, 3, 32, 32, dtype=torch.uint8), torch.zeros(3),
            META)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_batches_equal_cpu_batches():
    cpu = tensor_loader(300, batch_size=64, seed=1, device='cpu')
    cuda = tensor_loader(300, batch_size=64, seed=1, device='cuda')
    for a, b in zip(cpu, cuda):
        assert b['inputs'].is_cuda
        assert b['data_samples'][0].gt_label.is_cuda
        assert torch.equal(a['inputs'], b['inputs'].cpu())


@pytest.mark.filterwarnings('ignore::UserWarning')
@pytest.mark.parametrize('loader_class,dataset_class,fixture,num_test', [
    (DeviceCIFAR10Loader, LenientCIFAR10, 'tiny_cifar10', 40),
    (DeviceCIFAR100Loader, LenientCIFAR100, 'tiny_cifar100', 100),
])
def test_cifar_loader_reads_the_split_like_its_dataset(
        request, loader_class, dataset_class, fixture, num_test):
    data_root = request.getfixturevalue(fixture)
    num_classes = len(dataset_class.METAINFO['classes'])
    # A transform object, not a registry name: earlier tests may have left
    # mmengine's process-wide default scope at 'mmrazor'.
    dataset = dataset_class(
        data_root=data_root, split='test', download=False,
        pipeline=[PackInputs()])
    loader = loader_class(data_root, split='test', batch_size=16,
                          augment=False, shuffle=False, device='cpu')
    inputs, labels = collect(loader)
    assert len(loader) == math.ceil(num_test / 16)
    assert len(loader.dataset) == num_test
    assert loader.dataset.metainfo['classes'] == dataset.metainfo['classes']
    expected = [dataset[i] for i in range(len(dataset))]
    assert torch.equal(inputs, torch.stack([e['inputs'] for e in expected]))
    assert labels.tolist() == [e['data_samples'].gt_label.item()
                               for e in expected]
    assert labels.tolist() == [i % num_classes for i in range(num_test)]

    train = loader_class(data_root, batch_size=32, device='cpu')
    assert len(train.dataset) == 2 * num_test
    assert len(train) == math.ceil(2 * num_test / 32)


@pytest.mark.filterwarnings('ignore::UserWarning')
def test_indices_keep_the_samples_mmengines_indices_keep(tiny_cifar10):
    """An int keeps the first samples, a sequence those it names, in its
    order: the images and labels of the dataset at those indices."""
    dataset = LenientCIFAR10(data_root=tiny_cifar10, split='test',
                             download=False, pipeline=[PackInputs()])
    for indices, kept in ((7, list(range(7))), ([5, 0, 39], [5, 0, 39])):
        loader = DeviceCIFAR10Loader(tiny_cifar10, split='test',
                                     batch_size=4, augment=False,
                                     shuffle=False, device='cpu',
                                     indices=indices)
        inputs, labels = collect(loader)
        assert len(loader.dataset) == len(kept)
        assert torch.equal(inputs, torch.stack(
            [dataset[i]['inputs'] for i in kept]))
        assert labels.tolist() == [i % 10 for i in kept]
    for indices in (0, [40], [-1]):
        with pytest.raises(ValueError, match='indices must keep'):
            DeviceCIFAR10Loader(tiny_cifar10, split='test', device='cpu',
                                indices=indices)


def test_device_loader_class_recognises_loaders_not_names():
    assert device_loader_class('DeviceCIFAR10Loader') is DeviceCIFAR10Loader
    assert device_loader_class('DeviceCIFAR100Loader') is \
        DeviceCIFAR100Loader
    assert device_loader_class(DeviceCIFAR100Loader) is DeviceCIFAR100Loader

    class Custom(DeviceTensorLoader):
        """A loader that is not registered, given as the class."""

    assert device_loader_class(Custom) is Custom
    for not_a_device_loader in (None, 'LenientCIFAR10', 'DeviceCIFARLoader',
                                LenientCIFAR10, dict):
        assert device_loader_class(not_a_device_loader) is None
