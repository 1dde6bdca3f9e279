"""mmengine's RuntimeInfoHook without a device sync per loss per iteration,
and with a training log history that does not slow down as a run goes on.
"""
from typing import Any, List, Optional, Tuple

import torch
from mmengine.hooks import RuntimeInfoHook
from mmengine.registry import HOOKS

from .deferred_logging import DeferredLogging
from .log_history import (append_scalars, bound_training_history,
                          training_history_length)


@HOOKS.register_module()
class DeferredRuntimeInfoHook(DeferredLogging, RuntimeInfoHook):
    """Log the ``train/*`` scalars (learning rates, the model's outputs)
    only when something may read them.

    :class:`RuntimeInfoHook` passes every loss tensor to
    ``MessageHub.update_scalar`` every iteration, and each ``.item()`` there
    waits for the GPU. This hook keeps the learning rates and the detached
    scalar tensors instead and logs all that are pending at once
    (:func:`~.log_history.append_scalars`: one transfer per device and
    dtype, one new history per key), so the message hub ends up exactly as
    mmengine's hook leaves it. It logs whenever the LoggerHook logs (each
    ``interval`` inner iterations and the end of the dataloader), on the last
    training iteration, after each training epoch, before validation, after
    training and before a checkpoint is saved. Select it in a config::

        default_hooks = dict(runtime_info=dict(type='DeferredRuntimeInfoHook'))

    It keeps :class:`RuntimeInfoHook`'s ``VERY_HIGH`` priority, so in each
    stage it converts before the LoggerHook and the CheckpointHook run.

    It also bounds each ``train/*`` history of the message hub (losses,
    learning rates, iteration times) to what the logs read
    (:func:`~.log_history.training_history_length`): mmengine's
    ``HistoryBuffer`` copies its whole history for every new value and keeps
    up to a million, so over the 78,200 iterations of a 200-epoch CIFAR run
    each value cost 150 us on average (5 or more per iteration), and every
    checkpoint carried the whole history.

    Args:
        interval (int, optional): Convert every ``interval`` inner
            iterations. Defaults to None: the LoggerHook's ``interval`` (10
            without a LoggerHook). Give a divisor of the LoggerHook's
            interval, or its logs miss the values still pending.
    """

    def __init__(self, interval: Optional[int] = None) -> None:
        super().__init__(interval)
        # Values kept per train/ scalar; None keeps mmengine's bound.
        self._history_length: Optional[int] = None

    def before_train(self, runner) -> None:
        super().before_train(runner)
        self._history_length = training_history_length(runner)
        # A resumed run's histories come from the checkpoint.
        bound_training_history(runner.message_hub, self._history_length)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        runner.message_hub.update_info('iter', runner.iter)
        lrs = runner.optim_wrapper.get_lr()
        if not isinstance(lrs, dict):
            # RuntimeInfoHook's assertion says what is wrong.
            return super().before_train_iter(runner, batch_idx, data_batch)
        self.note(*((f'train/{name}', lr[0]) for name, lr in lrs.items()))

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        for key, value in (outputs or {}).items():
            if torch.is_tensor(value) and value.numel() != 1:
                # update_scalar rejects it; let it say so now, as
                # mmengine's hook would.
                runner.message_hub.update_scalar(f'train/{key}', value)
                continue
            if torch.is_tensor(value):
                # Detached so the pending value does not keep the graph;
                # a loss is 0-d already (reshape is one more op).
                value = value.detach()
                if value.dim():
                    value = value.reshape(())
            self.note((f'train/{key}', value))
        self.after_iteration(runner, batch_idx)

    def log_pending(self, runner, pending: List[Tuple[str, Any]]) -> None:
        """Log ``(message hub key, value)`` pairs, kept in the order
        mmengine would log them, and bound the histories of new keys."""
        append_scalars(runner.message_hub, pending)
        bound_training_history(runner.message_hub, self._history_length)
