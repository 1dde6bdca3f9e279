"""When the LoggerHook reads the train scalars, for hooks that defer work
on the losses to those iterations."""
from typing import Optional

from mmengine.hooks import Hook, LoggerHook

# LoggerHook's own default interval. Without a LoggerHook nothing reads the
# losses at an interval, but a bound keeps deferred tensors from piling up.
DEFAULT_INTERVAL = 10


def logger_interval(runner) -> int:
    """Return the ``interval`` of the runner's :class:`LoggerHook`.

    Args:
        runner (Runner): A runner whose hooks are registered.

    Returns:
        int: The first LoggerHook's ``interval``, or ``DEFAULT_INTERVAL``
        (10, LoggerHook's default) when the runner has none.
    """
    for hook in runner.hooks:
        if isinstance(hook, LoggerHook):
            return hook.interval
    return DEFAULT_INTERVAL


class LoggingIterations:
    """The training iterations at which the LoggerHook logs: every
    ``interval`` inner iterations and the end of the dataloader (for an
    ``IterBasedTrainLoop``, where ``batch_idx`` is the global iteration, it
    is met once), plus the last training iteration, after which nothing
    else would read pending values.

    Args:
        interval (int, optional): Inner iterations between logs. None means
            the runner's LoggerHook ``interval``, read by :meth:`resolve`.
    """

    def __init__(self, interval: Optional[int] = None) -> None:
        if interval is not None and interval <= 0:
            raise ValueError(f'interval must be positive, got {interval}.')
        self.requested = interval
        self.interval = interval

    def resolve(self, runner) -> None:
        """Read the LoggerHook's interval when none was requested (call in
        ``before_train``, once the runner's hooks are registered)."""
        if self.requested is None:
            self.interval = logger_interval(runner)

    def __call__(self, hook: Hook, runner, batch_idx: int) -> bool:
        """Whether training iteration ``batch_idx`` is one of them.

        The same tests as ``Hook.every_n_inner_iters``, ``end_of_epoch``
        and ``is_last_train_iter``, with the runner's train loop looked up
        once: each of the runner's ``iter``, ``max_iters`` and
        ``train_dataloader`` looks it up again through a property with an
        ABC ``isinstance`` check, and several hooks ask this every
        iteration.
        """
        if hook.every_n_inner_iters(batch_idx, self.interval):
            return True
        loop = runner.train_loop
        return (batch_idx + 1 == len(loop.dataloader)
                or loop.iter + 1 == loop.max_iters)
