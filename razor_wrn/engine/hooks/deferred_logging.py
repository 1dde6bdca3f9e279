"""What the deferred logging hooks share: values noted per training
iteration, logged where something reads them."""
from typing import Any, List, Optional

from mmengine.utils import apply_to

from .logger_interval import LoggingIterations


class DeferredLogging:
    """A mixin, before an mmengine hook in the bases, that logs what
    :meth:`note` collected at the points where the LoggerHook or a
    checkpoint reads the message hub: each ``interval`` inner iterations
    (:meth:`after_iteration`), the end of the dataloader, the last training
    iteration, after each training epoch, before validation, after training
    and before a checkpoint is saved.

    Subclasses call :meth:`after_iteration` at the end of their
    ``after_train_iter`` and implement :meth:`log_pending`.

    Args:
        interval (int, optional): Log every ``interval`` inner iterations.
            Defaults to None: the LoggerHook's ``interval`` (10 without a
            LoggerHook). Give a divisor of the LoggerHook's interval, or its
            logs miss the values still pending.
    """

    def __init__(self, interval: Optional[int] = None) -> None:
        super().__init__()
        self._logging_iterations = LoggingIterations(interval)
        self._pending: List[Any] = []

    def before_train(self, runner) -> None:
        super().before_train(runner)
        self._logging_iterations.resolve(runner)

    def note(self, *values: Any) -> None:
        """Keep ``values`` for the next :meth:`flush`."""
        self._pending.extend(values)

    def after_iteration(self, runner, batch_idx: int) -> None:
        """Flush if the LoggerHook logs at training iteration
        ``batch_idx``."""
        if self._logging_iterations(self, runner, batch_idx):
            self.flush(runner)

    def after_train_epoch(self, runner) -> None:
        self.flush(runner)
        super().after_train_epoch(runner)

    def before_val(self, runner) -> None:
        self.flush(runner)
        super().before_val(runner)

    def after_train(self, runner) -> None:
        self.flush(runner)
        super().after_train(runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # Runner.save_checkpoint builds checkpoint['message_hub'] before it
        # calls this hook, so rebuild it (as the Runner does) after logging.
        if self.flush(runner):
            checkpoint['message_hub'] = apply_to(
                runner.message_hub.state_dict(),
                lambda x: hasattr(x, 'cpu'), lambda x: x.cpu())

    def flush(self, runner) -> bool:
        """Log the pending values to the runner's message hub.

        Args:
            runner (Runner): The runner whose ``message_hub`` gets them.

        Returns:
            bool: Whether any value was pending.
        """
        if not self._pending:
            return False
        pending, self._pending = self._pending, []
        self.log_pending(runner, pending)
        return True

    def log_pending(self, runner, pending: List[Any]) -> None:
        """Log ``pending`` (what :meth:`note` kept, in order)."""
        raise NotImplementedError
