"""mmengine's RuntimeInfoHook without a device sync per loss per iteration,
and with a training log history that does not slow down as a run goes on.
"""
from typing import Any, Dict, List, Optional, Tuple

import torch
from mmengine.hooks import RuntimeInfoHook
from mmengine.registry import HOOKS
from mmengine.utils import apply_to

from .log_history import (append_scalars, bound_training_history,
                          training_history_length)
from .logger_interval import LoggingIterations


@HOOKS.register_module()
class DeferredRuntimeInfoHook(RuntimeInfoHook):
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
        self._logging_iterations = LoggingIterations(interval)
        # Values kept per train/ scalar; None keeps mmengine's bound.
        self._history_length: Optional[int] = None
        # (message hub key, value) in the order mmengine would log them.
        self._pending: List[Tuple[str, Any]] = []

    def before_train(self, runner) -> None:
        super().before_train(runner)
        self._logging_iterations.resolve(runner)
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
        self._pending.extend((f'train/{name}', lr[0])
                             for name, lr in lrs.items())

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if outputs is not None:
            for key, value in outputs.items():
                if torch.is_tensor(value) and value.numel() != 1:
                    # update_scalar rejects it; let it say so now, as
                    # mmengine's hook would.
                    runner.message_hub.update_scalar(f'train/{key}', value)
                    continue
                if torch.is_tensor(value):
                    # Detached so the pending value does not keep the graph.
                    value = value.detach().reshape(())
                self._pending.append((f'train/{key}', value))
        if self._logging_iterations(self, runner, batch_idx):
            self.flush(runner)

    def after_train_epoch(self, runner) -> None:
        self.flush(runner)

    def before_val(self, runner) -> None:
        self.flush(runner)
        super().before_val(runner)

    def after_train(self, runner) -> None:
        self.flush(runner)
        super().after_train(runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # Runner.save_checkpoint builds checkpoint['message_hub'] before it
        # calls this hook, so rebuild it (as the Runner does) after flushing.
        if self.flush(runner):
            checkpoint['message_hub'] = apply_to(
                runner.message_hub.state_dict(),
                lambda x: hasattr(x, 'cpu'), lambda x: x.cpu())

    def flush(self, runner) -> bool:
        """Convert the pending values and log them to the message hub.

        Args:
            runner (Runner): The runner whose ``message_hub`` gets them.

        Returns:
            bool: Whether any value was pending.
        """
        if not self._pending:
            return False
        pending, self._pending = self._pending, []
        append_scalars(runner.message_hub, pending)
        # New keys (a loss term) since the last flush.
        bound_training_history(runner.message_hub, self._history_length)
        return True
