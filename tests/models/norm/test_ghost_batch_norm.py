"""GhostBatchNorm against G separate BatchNorm layers, one per group (what
G processes of a recipe compute), and against BN in eval mode."""
import pytest
import torch
from mmcv.cnn import build_norm_layer

import razor_wrn  # noqa: F401  (registers GhostBN)
from razor_wrn.errors import GhostGroupError
from razor_wrn.models.norm import GhostBatchNorm


def _pair(groups: int, momentum, channels: int = 5):
    """A GhostBatchNorm with random affine parameters and running stats,
    and ``groups`` BatchNorm2d copies of it."""
    torch.manual_seed(0)
    ghost = GhostBatchNorm(channels, num_groups=groups, momentum=momentum)
    for tensor in (ghost.weight, ghost.bias, ghost.running_mean):
        tensor.data.normal_()
    ghost.running_var.data.uniform_(0.5, 2)
    ghost.num_batches_tracked.fill_(3)
    copies = [torch.nn.BatchNorm2d(channels, momentum=momentum)
              for _ in range(groups)]
    for copy in copies:
        copy.load_state_dict(ghost.state_dict())
    return ghost, copies


@pytest.mark.parametrize('momentum,layout,per_group', [
    (0.1, torch.contiguous_format, 3), (None, torch.contiguous_format, 3),
    (0.1, torch.channels_last, 3), (0.1, torch.channels_last, 1)])
def test_training_is_per_group_batch_norm(momentum, layout, per_group):
    ghost, copies = _pair(4, momentum)
    # Height != width, so a transposed layout cannot pass.
    images = torch.randn(4 * per_group, 5, 6, 7) * 3 + 1
    images = images.contiguous(memory_format=layout).requires_grad_(True)
    out = ghost(images)
    # The network's layout is kept (channels-last convolutions next), also
    # with one image per group, where regrouping could return other strides.
    assert out.is_contiguous(memory_format=layout)
    (out ** 3).sum().backward()
    ghost_input_grad, images.grad = images.grad, None
    expected = torch.cat([copy(group) for copy, group in
                          zip(copies, images.split(per_group))])
    (expected ** 3).sum().backward()
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(ghost_input_grad, images.grad, rtol=1e-5,
                               atol=1e-5)
    for name in ('weight', 'bias'):
        torch.testing.assert_close(
            getattr(ghost, name).grad,
            sum(getattr(copy, name).grad for copy in copies))
    # SyncNormStatsHook's mean over the processes' running statistics.
    for name in ('running_mean', 'running_var'):
        torch.testing.assert_close(
            getattr(ghost, name),
            sum(getattr(copy, name) for copy in copies) / 4)
    assert ghost.num_batches_tracked.item() == 4


def test_groups_are_consecutive_and_use_the_unbiased_variance():
    """Hand-computed: two groups of two single-pixel samples."""
    ghost = GhostBatchNorm(1, num_groups=2, momentum=1.0, affine=False,
                           eps=1e-12)
    x = torch.tensor([0., 2., 10., 14.]).view(4, 1)
    out = ghost(x)
    # Each group's (x - mean) / biased std.
    torch.testing.assert_close(out.flatten(), torch.tensor([-1., 1., -1.,
                                                             1.]))
    # Group means 1 and 12, unbiased variances 2 and 8.
    assert ghost.running_mean.item() == pytest.approx(6.5)
    assert ghost.running_var.item() == pytest.approx(5.0)


def test_eval_mode_is_batch_norm():
    ghost, (copy, *_) = _pair(4, 0.1)
    ghost.eval()
    copy.eval()
    images = torch.randn(6, 5, 4, 4)  # any batch size
    assert torch.equal(ghost(images), copy(images))


def test_state_dict_is_batch_norms():
    ghost, (copy, *_) = _pair(2, 0.1)
    assert list(ghost.state_dict()) == list(copy.state_dict())
    fresh = GhostBatchNorm(5, num_groups=2)
    fresh.load_state_dict(copy.state_dict())
    for name, value in copy.state_dict().items():
        assert torch.equal(fresh.state_dict()[name], value)


def test_a_batch_that_does_not_split_into_the_groups_is_refused():
    ghost = GhostBatchNorm(3, num_groups=4)
    with pytest.raises(ValueError, match='4 groups got a batch of 6 samples'):
        ghost(torch.randn(6, 3, 2, 2))


@pytest.mark.parametrize('shape', [(2, 3, 1, 1), (2, 3)])
def test_a_group_of_one_value_per_channel_is_refused_by_name(shape):
    ghost = GhostBatchNorm(3, num_groups=2)
    with pytest.raises(GhostGroupError,
                       match='2 groups got 2 samples.*1 value per channel'):
        ghost(torch.randn(*shape))
    # Two values per channel in each group train.
    assert ghost(torch.randn(4, 3)).shape == (4, 3)


def test_norm_cfg_builds_it():
    name, layer = build_norm_layer(dict(type='GhostBN', num_groups=8), 16)
    assert name == 'bn' and isinstance(layer, GhostBatchNorm)
    assert (layer.num_groups, layer.num_features) == (8, 16)
