"""The LoggerHook's interval, for hooks that do their work when it logs."""
from mmengine.hooks import LoggerHook

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
