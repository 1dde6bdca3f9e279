"""The table-driven crop and flip gives the bytes of the per-batch one."""
import pytest
import torch

from razor_wrn.datasets.crop_flip import CropFlipViews, crop_flip


@pytest.mark.parametrize('height, width, padding', [(5, 7, 2), (4, 4, 0),
                                                    (3, 2, 4)])
def test_every_view_of_the_table_equals_crop_flip(height, width, padding):
    side = 2 * padding + 1
    offsets = torch.cartesian_prod(torch.arange(side), torch.arange(side))
    offsets = offsets.repeat_interleave(2, 0)
    flips = torch.arange(len(offsets)) % 2 == 1
    # Distinct non-zero pixels: a wrong row, column, flip or padding shows.
    images = torch.randperm(255)[:3 * height * width].add(1).to(
        torch.uint8).view(1, 3, height, width).repeat(len(offsets), 1, 1, 1)
    views = CropFlipViews(height, width, padding, 'cpu')
    ids = views.view_ids(offsets, flips)
    # One table row per view, in the order the ids number them.
    assert torch.equal(ids, torch.arange(len(offsets)))
    assert views.table.shape == (side * side * 2, height * width)
    assert torch.equal(views(images, ids),
                       crop_flip(images, offsets, flips, padding))


def test_a_batch_takes_each_images_own_view():
    views = CropFlipViews(4, 4, 2, 'cpu')
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(1, 256, (64, 3, 4, 4), dtype=torch.uint8,
                           generator=generator)
    offsets = torch.randint(0, 5, (64, 2), generator=generator)
    flips = torch.randint(0, 2, (64, ), generator=generator).bool()
    out = views(images, views.view_ids(offsets, flips))
    assert torch.equal(out, crop_flip(images, offsets, flips, 2))
    assert out.dtype == torch.uint8 and out.shape == images.shape
