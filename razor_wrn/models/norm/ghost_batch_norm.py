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
            ValueError: In training, if ``N`` is not a multiple of
                ``num_groups``.
        """
        batch_stats = self.training or self.running_mean is None
        if not batch_stats or self.num_groups == 1:
            return super().forward(input)
        self._check_input_dim(input)
        groups = self.num_groups
        size, channels = input.shape[:2]
        if size % groups:
            raise ValueError(
                f'GhostBatchNorm with {groups} groups got a batch of {size} '
                f'samples, not a multiple of {groups}: give the loader a '
                f'batch size that is a multiple of {groups} (the train '
                'recipe does), or set num_groups to a divisor of it.')
        factor = 0.0 if self.momentum is None else self.momentum
        tracking = self.training and self.track_running_stats
        if tracking:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        rest = input.shape[2:]
        # (G*B, C, ...) -> (B, G*C, ...): channel g*C + c is channel c of
        # group g, so one batch_norm call takes every group's statistics.
        grouped = input.reshape(groups, size // groups, channels, *rest)
        grouped = grouped.transpose(0, 1).reshape(
            size // groups, groups * channels, *rest)
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
        out = out.reshape(size // groups, groups, channels, *rest)
        return out.transpose(0, 1).reshape(input.shape)
