"""TensorBatchPreprocessor: ClsDataPreprocessor's numbers from two ops."""
import pytest
import torch

import razor_wrn  # noqa: F401  (compat shim before any mmrazor import)
from mmpretrain.models import ClsDataPreprocessor
from mmpretrain.structures import DataSample

from razor_wrn.models.classifiers import TensorBatchPreprocessor

SETTINGS = dict(num_classes=10, mean=[125.307, 122.961, 113.8575],
                std=[51.5865, 50.847, 51.255], to_rgb=False)


def every_pixel_value() -> torch.Tensor:
    """uint8 ``(4, 3, 8, 8)`` holding each of 0..255 in every channel."""
    return torch.arange(4 * 3 * 64).remainder(256).to(torch.uint8).view(
        4, 3, 8, 8)


@pytest.mark.parametrize('labels', [torch.tensor([3, 1, 4, 1]), None])
def test_tensor_batch_gives_mmpretrains_bits_and_leaves_the_input(labels):
    images = every_pixel_value()
    kept = images.clone()
    data = dict(inputs=images) if labels is None else dict(
        inputs=images, data_samples=labels)
    ours = TensorBatchPreprocessor(**SETTINGS)(data, True)
    theirs = ClsDataPreprocessor(**SETTINGS)(dict(data), True)
    assert ours['inputs'].dtype == torch.float32
    # Bit for bit: a float64 or reordered normalisation would differ.
    assert torch.equal(ours['inputs'], theirs['inputs'])
    assert ours['data_samples'] is labels
    assert torch.equal(images, kept)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('images_on', ['cpu', 'cuda'])
def test_cuda_gives_mmpretrains_bits_from_either_device(images_on):
    # A batch on the model's device, or one to move there (cast_data).
    images = every_pixel_value().to(images_on)
    labels = torch.tensor([3, 1, 4, 1], device='cuda')
    ours = TensorBatchPreprocessor(**SETTINGS).cuda()(
        dict(inputs=images, data_samples=labels), True)
    theirs = ClsDataPreprocessor(**SETTINGS).cuda()(
        dict(inputs=images, data_samples=labels), True)
    assert ours['inputs'].device.type == 'cuda'
    assert torch.equal(ours['inputs'], theirs['inputs'])


def test_other_batches_take_mmpretrains_path():
    images = every_pixel_value()
    samples = [DataSample().set_gt_label(i) for i in range(4)]
    ours = TensorBatchPreprocessor(**SETTINGS)(
        dict(inputs=images, data_samples=samples), True)
    assert [int(s.gt_label) for s in ours['data_samples']] == [0, 1, 2, 3]
    for settings in (dict(SETTINGS, to_rgb=True),
                     dict(SETTINGS, pad_size_divisor=16)):
        data = dict(inputs=images, data_samples=torch.arange(4))
        ours = TensorBatchPreprocessor(**settings)(dict(data), True)
        theirs = ClsDataPreprocessor(**settings)(dict(data), True)
        assert torch.equal(ours['inputs'], theirs['inputs'])
    assert ours['inputs'].shape == (4, 3, 16, 16)  # padded, not skipped
