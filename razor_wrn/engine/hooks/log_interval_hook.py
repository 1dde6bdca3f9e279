"""Log training progress several times per epoch, however small the data."""
from mmengine.hooks import Hook, LoggerHook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class LogIntervalHook(Hook):
    """Shorten the LoggerHook's ``interval`` to a fraction of the epoch.

    mmengine's LoggerHook logs (loss, lr, time, ETA) every ``interval``
    iterations, 100 in these configs: an epoch of 3,000 images at batch 128
    (24 iterations) would log only at its end. Before training this hook
    sets the interval to ``min(interval, iterations per epoch //
    logs_per_epoch)``, at least 1, so an epoch logs about ``logs_per_epoch``
    times and never less often than configured. It runs first
    (``HIGHEST``), so the hooks that read the LoggerHook's interval in their
    own ``before_train`` (``DeferredRuntimeInfoHook``, ``NaNLossHook``) see
    the new one.

    Args:
        logs_per_epoch (int): Logs per training epoch to aim for.
            Defaults to 10.

    Raises:
        ValueError: If ``logs_per_epoch`` is not positive.
    """

    priority = 'HIGHEST'

    def __init__(self, logs_per_epoch: int = 10) -> None:
        if logs_per_epoch <= 0:
            raise ValueError(
                f'logs_per_epoch must be positive, got {logs_per_epoch}.')
        self.logs_per_epoch = logs_per_epoch

    def before_train(self, runner) -> None:
        iterations = len(runner.train_dataloader)
        for hook in runner.hooks:
            if isinstance(hook, LoggerHook):
                hook.interval = max(
                    1, min(hook.interval, iterations // self.logs_per_epoch))
