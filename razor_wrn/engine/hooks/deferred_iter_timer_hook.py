"""mmengine's IterTimerHook writing its training times only when they are
logged."""
import time
from typing import List, Optional, Tuple

from mmengine.hooks import IterTimerHook
from mmengine.registry import HOOKS

from .deferred_logging import DeferredLogging
from .log_history import append_scalars


@HOOKS.register_module()
class DeferredIterTimerHook(DeferredLogging, IterTimerHook):
    """Time each training iteration as :class:`IterTimerHook` does, and log
    ``train/data_time``, ``train/time`` and the ETA when the LoggerHook
    reads them.

    mmengine's hook updates two message hub histories and the ETA every
    iteration; this one notes two clock readings per iteration and logs them
    (:func:`~.log_history.append_scalars`) at the same points as
    :class:`~.DeferredRuntimeInfoHook`: each ``interval`` inner iterations,
    the end of the dataloader, the last training iteration, after each
    training epoch, before validation, after training and before a
    checkpoint is saved. The message hub then holds the same histories and,
    at those points, the same ETA (the mean time per iteration since the
    run or resume started, times the iterations left). Validation and test
    iterations are timed as mmengine times them. Select it in a config::

        default_hooks = dict(timer=dict(type='DeferredIterTimerHook'))

    Args:
        interval (int, optional): Log every ``interval`` inner iterations.
            Defaults to None: the LoggerHook's ``interval``.
    """

    def __init__(self, interval: Optional[int] = None) -> None:
        super().__init__(interval)
        self._data_time = 0.0
        # runner.iter of the newest pending iteration: the ETA's.
        self._last_iter = 0

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        self._data_time = time.time() - self.t

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        now = time.time()
        self.note((self._data_time, now - self.t))
        self.t = now
        self._last_iter = runner.iter
        self.after_iteration(runner, batch_idx)

    def log_pending(self, runner, pending: List[Tuple[float, float]]
                    ) -> None:
        """Log ``(data_time, time)`` per iteration in seconds, and the ETA
        mmengine's hook set at the newest of them."""
        append_scalars(runner.message_hub, [
            (key, value) for data_time, step_time in pending
            for key, value in (('train/data_time', data_time),
                               ('train/time', step_time))])
        self.time_sec_tot += sum(step_time for _, step_time in pending)
        last = self._last_iter
        average = self.time_sec_tot / (last - self.start_iter + 1)
        runner.message_hub.update_info(
            'eta', average * (runner.max_iters - last - 1))
