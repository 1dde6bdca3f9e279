"""Test-only hook: the process kills itself with SIGKILL before a given
training iteration, a deterministic stand-in for ``kill -9`` mid-epoch."""
import os
import signal

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class SigkillHook(Hook):
    """Send SIGKILL to this process before iteration ``at_iter`` (0-based,
    counted over the whole run).

    Args:
        at_iter (int): The iteration that never runs.
    """

    def __init__(self, at_iter: int) -> None:
        self.at_iter = at_iter

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        if runner.iter == self.at_iter:
            os.kill(os.getpid(), signal.SIGKILL)
