"""Stop training at the first non-finite loss, before it reaches a checkpoint.
"""
import math
from typing import Dict, Optional

import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class NaNLossHook(Hook):
    """Raise :class:`FloatingPointError` naming the loss terms that became
    NaN or infinite.

    mmengine 0.10.7 has no such check (mmdet's ``CheckInvalidLossHook``
    only asserts, which ``python -O`` disables, and does not say which term
    failed). The check reads the values the Runner has already turned into
    Python floats for logging, so it adds no device synchronisation. Raising inside the iteration stops the run
    before the epoch's :class:`CheckpointHook` can save NaN weights, so the
    checkpoints already on disk are kept.

    Args:
        interval: Check every ``interval`` iterations.
    """

    def __init__(self, interval: int = 1) -> None:
        self.interval = interval

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch=None,
                         outputs: Optional[Dict] = None) -> None:
        if not outputs or not self.every_n_train_iters(runner,
                                                        self.interval):
            return
        values = {key: float(value.detach()) if torch.is_tensor(value) else
                  float(value) for key, value in outputs.items()
                  if key.startswith('loss')}
        bad = {key: value for key, value in values.items()
               if not math.isfinite(value)}
        if bad:
            terms = ', '.join(f'{key}={value}' for key, value in bad.items())
            raise FloatingPointError(
                f'Non-finite loss at epoch {runner.epoch + 1}, iteration '
                f'{runner.iter + 1}: {terms}. Training stopped before saving '
                f'this state; checkpoints already in {runner.work_dir!r} '
                'are kept. Lower the learning rate, check the data and the '
                'teacher checkpoint, or disable --amp, then resume with '
                '--resume.')
