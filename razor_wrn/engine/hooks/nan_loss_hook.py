"""Stop training at the first non-finite loss, before it reaches a checkpoint.
"""
import math
from typing import Any, Dict, List, Optional, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from .logger_interval import LoggingIterations


@HOOKS.register_module()
class NaNLossHook(Hook):
    """Raise :class:`FloatingPointError` naming the loss terms that became
    NaN or infinite, and the iteration where they first did.

    mmengine 0.10.7 has no such check (mmdet's ``CheckInvalidLossHook``
    only asserts, which ``python -O`` disables, and does not say which term
    failed). Reading a loss on the GPU waits for it, so the hook keeps the
    detached ``loss*`` tensors of each iteration and checks all of them at
    once (one transfer) every ``interval`` inner iterations, at the end of
    the dataloader, on the last training iteration, after training and
    before any checkpoint is saved. Raising there stops the run before a
    :class:`CheckpointHook`, whatever its ``by_epoch`` and ``interval``, can
    save NaN weights, so the checkpoints already on disk are kept.

    Args:
        interval (int, optional): Check every ``interval`` inner iterations.
            Defaults to None: the LoggerHook's ``interval`` (10 without a
            LoggerHook), when the losses are read for logging anyway.
    """

    def __init__(self, interval: Optional[int] = None) -> None:
        self._logging_iterations = LoggingIterations(interval)
        # (epoch, iteration, loss terms) of the iterations not yet checked.
        self._pending: List[Tuple[int, int, Dict[str, Any]]] = []

    def before_train(self, runner) -> None:
        self._logging_iterations.resolve(runner)

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch=None,
                         outputs: Optional[Dict] = None) -> None:
        losses = {key: value.detach() if torch.is_tensor(value) else value
                  for key, value in (outputs or {}).items()
                  if key.startswith('loss')}
        if losses:
            loop = runner.train_loop  # runner.epoch and .iter look it up
            self._pending.append((loop.epoch, loop.iter, losses))
        if self._logging_iterations(self, runner, batch_idx):
            self.check(runner)

    def after_train(self, runner) -> None:
        # A loop stopped early (stop_training) skips the last iteration.
        self.check(runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        self.check(runner)

    def check(self, runner) -> None:
        """Check the pending losses and forget them.

        Args:
            runner (Runner): The runner, for its ``work_dir`` in the error.

        Raises:
            FloatingPointError: If a pending loss is NaN or infinite. The
                message names the first such iteration (epoch and iteration
                counted from 1) and its non-finite terms with their values.
        """
        pending, self._pending = self._pending, []
        tensors = [value.float().reshape(()) for _, _, losses in pending
                   for value in losses.values() if torch.is_tensor(value)]
        numbers = iter(torch.stack(tensors).tolist() if tensors else [])
        for epoch, iteration, losses in pending:
            values = {key: next(numbers) if torch.is_tensor(value) else
                      float(value) for key, value in losses.items()}
            bad = {key: value for key, value in values.items()
                   if not math.isfinite(value)}
            if bad:
                terms = ', '.join(f'{key}={value}'
                                  for key, value in bad.items())
                raise FloatingPointError(
                    f'Non-finite loss at epoch {epoch + 1}, iteration '
                    f'{iteration + 1}: {terms}. Training stopped before '
                    f'saving this state; checkpoints already in '
                    f'{runner.work_dir!r} are kept. Lower the learning rate, '
                    'check the data and the teacher checkpoint, or disable '
                    '--amp, then resume with --resume.')
