"""What the b16x8 recipe's ghost BatchNorm costs on one device: a WRN
backbone's forward and backward with BatchNorm over the whole batch against
the same network with :class:`~razor_wrn.models.norm.GhostBatchNorm` over G
groups, timed side by side (round-robin repeats, median).

On one process the ``b16x8`` configs train 128 images per step in 8 groups
of 16 (``razor_wrn/engine/train_recipe.py``); this is the price of that
exactness over a ``b128x1`` config's plain BatchNorm.
"""
import statistics
import time
from contextlib import nullcontext
from typing import Callable, Dict, List, NamedTuple, Optional

import torch
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS

from razor_wrn.errors import GhostGroupError, UserError


class NormCost(NamedTuple):
    """Milliseconds per forward + backward step, every repeat's median."""
    ms: Dict[str, List[float]]  # 'BN' / 'GhostBN': one median per repeat

    def median(self, name: str) -> float:
        """Median milliseconds per step of ``'BN'`` or ``'GhostBN'``."""
        return statistics.median(self.ms[name])

    @property
    def ratio(self) -> float:
        """Ghost step time over plain step time."""
        return self.median('GhostBN') / self.median('BN')


def backbone(depth: int, widen_factor: int, norm_cfg: Dict,
             device: torch.device, channels_last: bool) -> torch.nn.Module:
    """mmpretrain's ``WideResNet`` (razor_wrn's registration) in train mode,
    seeded so that both norms start from the same weights.

    Raises:
        UserError: The depth or width is not a WRN's.
    """
    torch.manual_seed(0)
    try:
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            net = MODELS.build(dict(type='WideResNet', depth=depth,
                                    widen_factor=widen_factor,
                                    norm_cfg=norm_cfg))
    except ValueError as error:
        raise UserError(f'{str(error).rstrip(".")}: set --depth and '
                        '--widen-factor.') from error
    net = net.to(device).train()
    return net.to(memory_format=torch.channels_last) if channels_last \
        else net


def _clock(device: torch.device) -> Callable[[], float]:
    """Seconds: the process's CPU time on a CPU (other jobs do not move
    it); wall time after the GPU's queue has drained on CUDA."""
    if device.type != 'cuda':
        return time.process_time

    def wall() -> float:
        torch.cuda.synchronize(device)
        return time.perf_counter()

    return wall


def norm_costs(depth: int = 16, widen_factor: int = 2,
               batch_size: int = 128, groups: int = 8,
               image_size: int = 32, channels_last: bool = False,
               device: str = 'cpu', amp: Optional[str] = None,
               iters: int = 5, repeats: int = 5) -> NormCost:
    """Time both networks on one random batch of ``(batch_size, 3,
    image_size, image_size)`` images.

    Args:
        depth, widen_factor: The WRN (depth 6n+4).
        batch_size: Images per step.
        groups: Ghost BatchNorm groups; ``batch_size / groups`` images each.
        image_size: Height and width, in pixels.
        channels_last: Networks and images in NHWC memory layout.
        device: ``'cpu'`` or ``'cuda'``.
        amp: ``'bf16'`` for bf16 autocast, None for fp32.
        iters: Steps per timed segment.
        repeats: Segments per network, taken in turn.

    Returns:
        NormCost: Milliseconds per step, one figure per segment.

    Raises:
        UserError: ``batch_size`` is not a multiple of ``groups``, a
            group has one value per channel, or a count is below 1.
    """
    if min(batch_size, groups, image_size, iters, repeats) < 1:
        raise UserError('--batch-size, --groups, --image-size, --iters and '
                        '--repeats must be >= 1.')
    if batch_size % groups:
        raise UserError(f'--batch-size {batch_size} does not split into '
                        f'--groups {groups}: give a multiple of {groups}.')
    where = torch.device(device)
    nets = {'BN': backbone(depth, widen_factor, dict(type='BN'), where,
                           channels_last),
            'GhostBN': backbone(depth, widen_factor,
                                dict(type='GhostBN', num_groups=groups),
                                where, channels_last)}
    images = torch.randn(batch_size, 3, image_size, image_size, device=where)
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    autocast = torch.autocast(where.type, dtype=torch.bfloat16) \
        if amp == 'bf16' else nullcontext()

    def step(net: torch.nn.Module) -> None:
        with autocast:
            out = net(images)[-1]
        out.float().mean().backward()

    clock = _clock(where)
    ms: Dict[str, List[float]] = {name: [] for name in nets}
    try:
        for net in nets.values():  # warm-up: allocator, cuDNN, first touches
            step(net)
    except GhostGroupError as error:
        raise UserError(
            f'{str(error).split(":")[0]}: each group has 1 value per channel '
            'in a layer, too few for BatchNorm; give a larger '
            '--batch-size or --image-size, or fewer --groups.') from error
    for _ in range(repeats):
        for name, net in nets.items():
            start = clock()
            for _ in range(iters):
                step(net)
            ms[name].append(1000 * (clock() - start) / iters)
    return NormCost(ms)
