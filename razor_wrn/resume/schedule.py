"""The optimizer hyper-parameters and scheduler states a config describes at
a given point of training.

mmengine fixes each scheduler's ``end`` (and milestones, gamma, base lr) when
it is built, and ``Runner.resume`` restores that state and the optimizer's
lr from the checkpoint. A run resumed into a longer schedule (``max_epochs``
3 instead of 1) or with a new lr therefore keeps the old schedule, silently.
:func:`schedule_from_config` replays the current config's schedule from the
start up to the checkpoint's epoch and iteration: copies of the schedulers
just built from the config step a stand-in optimizer holding the same
parameter groups, so any scheduler mmengine builds (warm-up, cosine,
multi-step, chained) ends where the config says it should.
"""
import copy
import warnings
from typing import List

import torch
from mmengine.optim import OptimWrapper

from ..errors import CheckpointError

# Scheduler bookkeeping that differs between two runs of one schedule only
# by where they are, not by what schedule they follow.
_BOOKKEEPING = ('last_step', 'base_values', 'verbose')


def _stand_in_optimizer(optimizer: torch.optim.Optimizer):
    """An optimizer over one dummy tensor per group of ``optimizer``, with
    the same hyper-parameters."""
    groups = [dict({k: v for k, v in group.items() if k != 'params'},
                   params=[torch.zeros(1, requires_grad=True)])
              for group in optimizer.param_groups]
    # The schedulers only read and write param_groups: SGD holds any keys.
    return torch.optim.SGD(groups, lr=groups[0]['lr'])


def schedule_from_config(runner, checkpoint: dict) -> List[str]:
    """Rewrite ``checkpoint``'s optimizer hyper-parameters and scheduler
    states to those the runner's config gives after the checkpoint's
    ``meta['epoch']`` epochs and ``meta['iter']`` iterations.

    Args:
        runner: A Runner whose optimizer wrapper and schedulers were just
            built from the current config and not stepped since (as in
            ``Runner.train`` when it resumes).
        checkpoint: A checkpoint saved by mmengine's Runner (changed in
            place).

    Returns:
        list[str]: What differed from the checkpoint, e.g.
        ``'lr: 0.1 -> 0.01'``; empty when the schedules agree.

    Raises:
        CheckpointError: the checkpoint's optimizer has another number of
            parameter groups than the config builds, or the run has several
            optimizers (not supported).
    """
    if isinstance(runner.param_schedulers, dict):
        raise CheckpointError(
            'Resuming a run with several optimizers is not supported: its '
            'schedules cannot be re-derived from the config.')
    optimizer = runner.optim_wrapper.optimizer
    saved_groups = checkpoint['optimizer']['param_groups']
    if len(saved_groups) != len(optimizer.param_groups):
        raise CheckpointError(
            f'The checkpoint\'s optimizer has {len(saved_groups)} parameter '
            f'groups, the config builds {len(optimizer.param_groups)} '
            '(optim_wrapper.paramwise_cfg changed?): resume with the config '
            'that trained it, or start a new run from its weights with '
            '--cfg-options load_from=CKPT.')
    stand_in = _stand_in_optimizer(optimizer)
    schedulers = copy.deepcopy(
        runner.param_schedulers or [],
        memo={id(runner.optim_wrapper): OptimWrapper(stand_in),
              id(optimizer): stand_in})
    epoch, it = checkpoint['meta']['epoch'], checkpoint['meta']['iter']
    with warnings.catch_warnings():
        # The stand-in optimizer never steps; torch's order check warns.
        warnings.simplefilter('ignore', UserWarning)
        if all(s.by_epoch for s in schedulers):
            for _ in range(epoch):
                for scheduler in schedulers:
                    scheduler.step()
        else:
            # As ParamSchedulerHook: iteration schedulers after each
            # iteration, epoch schedulers after each epoch.
            epoch_length = len(runner.train_dataloader)
            for i in range(1, it + 1):
                for scheduler in schedulers:
                    if not scheduler.by_epoch or (
                            i % epoch_length == 0
                            and i // epoch_length <= epoch):
                        scheduler.step()

    changes = []
    for index, (saved, derived, live) in enumerate(
            zip(saved_groups, stand_in.param_groups, optimizer.param_groups)):
        for key in live:
            if key == 'params':
                continue
            if saved.get(key) != derived[key]:
                where = f'group {index} ' if len(saved_groups) > 1 else ''
                changes.append(f'{where}{key}: {saved.get(key)} -> '
                               f'{derived[key]}')
            saved[key] = derived[key]
    states = [scheduler.state_dict() for scheduler in schedulers]
    saved_states = list(checkpoint.get('param_schedulers') or [])
    for index, state in enumerate(states):
        old = saved_states[index] if index < len(saved_states) else {}
        for key, value in state.items():
            if not key.startswith('_') and key not in _BOOKKEEPING and \
                    old.get(key) != value:
                name = type(schedulers[index]).__name__
                changes.append(f'{name}.{key}: {old.get(key)} -> {value}')
    checkpoint['param_schedulers'] = states
    return changes

