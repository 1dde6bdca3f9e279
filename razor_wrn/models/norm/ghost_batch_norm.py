"""Ghost batch norm: BatchNorm over equal groups of one batch.

A ``b16x8`` recipe trains 8 processes on 16 images each: every BN layer
normalises a process's 16 images with their own statistics, and
``SyncNormStatsHook`` replaces the running statistics by their mean over
the 8 processes after each epoch. :class:`GhostBatchNorm` computes the same
thing in one process holding G of those groups: a batch of ``G * B``
images, laid out group after group, is normalised per group of ``B`` with
that group's mean and biased variance, and the running statistics move
towards the mean over the groups of each group's (mean, unbiased
variance). The running-statistics update is linear, so this equals the mean
of G separate BN layers' running statistics, i.e. what the hook gives the
processes at the end of an epoch.

The groups are laid side by side as channels with one copy each way; a
channels-last input (``--channels-last``) stays channels-last, so neither
the batch_norm kernel nor the next convolution converts the layout (on a
CPU, WRN-16-2's forward and backward at batch 128 took 1.13x plain BN's
time instead of 1.84x; ``docs/benchmarks.md``).

In eval mode (and with ``num_groups=1``) it is torch's BatchNorm. The state
dict is BN's (``weight``, ``bias``, ``running_mean``, ``running_var``,
``num_batches_tracked``), so checkpoints load into either.

Config::

    model = dict(backbone=dict(norm_cfg=dict(type='GhostBN', num_groups=8)))

``tools/train.py`` selects it by itself where a config declares a recipe on
more processes than the run has (``razor_wrn/engine/train_recipe.py``).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from razor_wrn.errors import GhostGroupError


@MODELS.register_module('GhostBN')
class GhostBatchNorm(_BatchNorm):
    """BatchNorm whose training-mode statistics are taken per group.

    Args:
        num_features (int): Channels ``C`` of the input ``(N, C, ...)``.
        num_groups (int): Groups ``G`` per batch; a training batch of ``N``
            samples is ``G`` consecutive groups of ``N / G``.
        eps (float): Added to the variance before the square root.
        momentum (float, optional): Weight of the new statistics in the
            running ones; None: cumulative average (as torch's BN).
        affine (bool): Learn a per-channel scale and shift.
        track_running_stats (bool): Keep running statistics for eval mode
            (without them every mode uses the groups' statistics).

    Raises:
        ValueError: If ``num_groups < 1``.
        GhostGroupError: See :meth:`forward`.
    """

    def __init__(self,
                 num_features: int,
                 num_groups: int = 1,
                 eps: float = 1e-5,
                 momentum: Optional[float] = 0.1,
                 affine: bool = True,
                 track_running_stats: bool = True,
                 device=None,
                 dtype=None) -> None:
        if num_groups < 1:
            raise ValueError(f'num_groups must be >= 1, got {num_groups}.')
        super().__init__(num_features, eps, momentum, affine,
                         track_running_stats, device, dtype)
        self.num_groups = num_groups

    def extra_repr(self) -> str:
        return f'{super().extra_repr()}, num_groups={self.num_groups}'

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(
                f'GhostBatchNorm expects (N, C, ...) input, got shape '
                f'{tuple(input.shape)}.')

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """Normalise ``input`` of shape ``(N, C, ...)``; same shape out.

        Raises:
            GhostGroupError: In training, if ``N`` is not a multiple of
                ``num_groups``, or a group has one value per channel (a
                ``ValueError``).
        """
        batch_stats = self.training or self.running_mean is None
        if not batch_stats or self.num_groups == 1:
            return super().forward(input)
        self._check_input_dim(input)
        groups = self.num_groups
        size, channels = input.shape[:2]
        if size % groups:
            raise GhostGroupError(
                f'GhostBatchNorm with {groups} groups got a batch of {size} '
                f'samples, not a multiple of {groups}: give the loader a '
                f'batch size that is a multiple of {groups} (the train '
                'recipe does), or set num_groups to a divisor of it.')
        if size // groups * input[0, 0].numel() == 1:
            # torch's message would name the regrouped tensor.
            raise GhostGroupError(
                f'GhostBatchNorm with {groups} groups got {size} samples of '
                f'{tuple(input.shape[2:])}: each group has 1 value per '
                'channel, and training BatchNorm needs more than 1. Give '
                'more images per step or larger images, or pass '
                '--cfg-options recipe_world_size=None for BatchNorm over '
                'the whole batch.')
        factor = 0.0 if self.momentum is None else self.momentum
        tracking = self.training and self.track_running_stats
        if tracking:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        # (G*B, C, ...) -> (B, G*C, ...): channel g*C + c is channel c of
        # group g, so one batch_norm call takes every group's statistics.
        nhwc = _is_channels_last(input)
        grouped = _to_groups_nhwc(input, groups) if nhwc else \
            _to_groups(input, groups)
        running_mean = running_var = None
        if tracking:
            running_mean = self.running_mean.repeat(groups)
            running_var = self.running_var.repeat(groups)
        weight = None if self.weight is None else self.weight.repeat(groups)
        bias = None if self.bias is None else self.bias.repeat(groups)
        out = F.batch_norm(grouped, running_mean, running_var, weight, bias,
                           True, factor, self.eps)
        if tracking:
            # The mean of G per-group updates from the same running value.
            with torch.no_grad():
                self.running_mean.copy_(
                    running_mean.view(groups, channels).mean(0))
                self.running_var.copy_(
                    running_var.view(groups, channels).mean(0))
        return _from_groups_nhwc(out, groups) if nhwc else \
            _from_groups(out, groups)


def _is_channels_last(tensor: torch.Tensor) -> bool:
    """A 4-d tensor held as (N, H, W, C) in memory (and not also as NCHW,
    as a tensor with C == 1 or H == W == 1 is)."""
    return tensor.dim() == 4 and not tensor.is_contiguous() and \
        tensor.is_contiguous(memory_format=torch.channels_last)


def _to_groups(x: torch.Tensor, groups: int) -> torch.Tensor:
    """(G*B, C, ...) -> (B, G*C, ...), one copy."""
    size, channels = x.shape[:2]
    rest = x.shape[2:]
    return x.reshape(groups, size // groups, channels, *rest).transpose(
        0, 1).reshape(size // groups, groups * channels, *rest)


def _from_groups(y: torch.Tensor, groups: int) -> torch.Tensor:
    """(B, G*C, ...) -> (G*B, C, ...), one copy."""
    size, channels = y.shape[0], y.shape[1] // groups
    rest = y.shape[2:]
    return y.reshape(size, groups, channels, *rest).transpose(0, 1).reshape(
        groups * size, channels, *rest)


def _to_groups_nhwc(x: torch.Tensor, groups: int) -> torch.Tensor:
    """(G*B, C, H, W) -> (B, G*C, H, W), both channels-last, one copy:
    in memory (G, B, H, W, C) -> (B, H, W, G, C), so the network's layout
    (and the batch_norm kernel for it) is kept."""
    size, channels, height, width = x.shape
    nhwc = x.permute(0, 2, 3, 1).reshape(groups, size // groups, height,
                                         width, channels)
    return nhwc.permute(1, 2, 3, 0, 4).reshape(
        size // groups, height, width, groups * channels).permute(0, 3, 1, 2)


def _from_groups_nhwc(y: torch.Tensor, groups: int) -> torch.Tensor:
    """The inverse of :func:`_to_groups_nhwc`, one copy."""
    size, grouped, height, width = y.shape
    nhwc = y.permute(0, 2, 3, 1).reshape(size, height, width, groups,
                                         grouped // groups)
    # With one image per group the reshape is a view of other strides.
    return nhwc.permute(3, 0, 1, 2, 4).reshape(
        groups * size, height, width, grouped // groups).permute(
            0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
