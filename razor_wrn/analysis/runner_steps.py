"""The Runner's own training and validation iterations, one at a time.

Nothing of the production path is re-implemented: :func:`setup_training`
runs ``runner.train()`` itself (optimizer, schedulers, ``before_run`` hooks,
weight init, checkpoint loading, ``compile``) and stops it where the train
loop would start; :class:`RunnerTrainSteps` then calls the loop's own
``run_iter``, which runs the train hooks around ``model.train_step`` (data
preprocessor, forward, loss parsing, ``optim_wrapper.update_params``), on
batches drawn from the loop's own dataloader (workers, pipeline, collate).
:class:`RunnerValSteps` does the same with the validation loop's
``run_iter`` (``val_step`` + evaluator + val hooks).

What is left out is per-epoch work: ``after_train_epoch`` (checkpoint,
by-epoch scheduler step), the validation epoch's metric computation and
checkpoint selection. It costs the same whatever the iteration speed and is
amortised over an epoch.
"""
from typing import Any, Iterator, Optional

from mmengine.runner import IterBasedTrainLoop, Runner

from .measure import Steps


class _SetupDone(Exception):
    """Raised in place of the train loop's ``run`` to leave
    ``runner.train()`` once its setup is complete."""


def setup_training(runner: Runner) -> None:
    """Run ``runner.train()`` up to the start of its train loop, then the
    loop's ``before_train`` hooks; afterwards the loop's ``run_iter`` can be
    driven step by step.

    Args:
        runner: A freshly built runner with a training configuration.
    """
    loop = runner.train_loop  # builds it; train() keeps a built loop

    def stop() -> None:
        raise _SetupDone

    # An instance attribute shadows the loop class's ``run`` for this call
    # only, so everything before it in ``Runner.train`` runs unchanged.
    loop.run = stop
    try:
        runner.train()
    except _SetupDone:
        pass
    finally:
        del loop.run
    runner.call_hook('before_train')


def shutdown_workers(loader: Any) -> None:
    """Stop the persistent worker processes of a ``DataLoader`` now instead
    of at garbage collection (a no-op for other loaders)."""
    iterator = getattr(loader, '_iterator', None)
    if iterator is not None and hasattr(iterator, '_shutdown_workers'):
        iterator._shutdown_workers()
        loader._iterator = None


class _EpochIterator:
    """Batches of a loader with their index in the epoch; starts a new epoch
    (calling ``on_new_epoch`` first) when asked or when the loader runs out.

    Args:
        loader: The dataloader.
        on_new_epoch: Called before each new epoch's iterator is made.
    """

    def __init__(self, loader: Any, on_new_epoch=None) -> None:
        self.loader = loader
        self.on_new_epoch = on_new_epoch
        self.mid_segment_epochs = 0
        self._iterator: Optional[Iterator] = None
        self._index = 0

    def ensure(self, n_batches: int) -> None:
        """Start a new epoch unless ``n_batches`` remain in this one."""
        if self._iterator is None or \
                len(self.loader) - self._index < n_batches:
            self._new_epoch()

    def next(self):
        """``(index in epoch, batch)``; wraps into a new epoch if needed."""
        try:
            batch = next(self._iterator)
        except StopIteration:
            # Only when an epoch is shorter than one segment (tiny data).
            self.mid_segment_epochs += 1
            self._new_epoch()
            batch = next(self._iterator)
        index = self._index
        self._index += 1
        return index, batch

    def _new_epoch(self) -> None:
        if self.on_new_epoch is not None:
            self.on_new_epoch()
        self._iterator = iter(self.loader)
        self._index = 0


class _LoaderSteps(Steps):
    """Steps drawing their batches from ``self.batches``, an
    :class:`_EpochIterator` the subclass sets."""

    batches: _EpochIterator

    @property
    def batch_size(self) -> int:
        return self.batches.loader.batch_size

    @property
    def mid_segment_epochs(self) -> int:
        """Data epochs that began inside a segment (tiny datasets only)."""
        return self.batches.mid_segment_epochs


class RunnerTrainSteps(_LoaderSteps):
    """One production training iteration per step: next batch from the
    train loop's dataloader, then ``train_loop.run_iter`` (hooks, data
    preprocessor, forward, backward, ``optim_wrapper.update_params``).

    Each new data epoch starts as ``EpochBasedTrainLoop.run_epoch`` starts
    one (``before_train_epoch`` hooks, ``model.train()``).

    Args:
        runner: A runner prepared by :func:`setup_training`.
        loader: Draw the batches from this loader instead of the loop's own
            (e.g. a ``DeviceCIFAR10Loader`` over the same split, to compare
            data pipelines under the same model, optimizer and hooks).
        name: The measurement's name (a key of ``report.LABELS``).
    """

    def __init__(self, runner: Runner, loader: Any = None,
                 name: str = 'runner_train') -> None:
        self.runner = runner
        self.loop = runner.train_loop
        self.name = name
        self._own_loader = loader is None
        # An iteration-based loop keeps its own endless iterator, which
        # only its own loader can feed.
        self._iter_based = self._own_loader and isinstance(
            self.loop, IterBasedTrainLoop)
        self.batches = _EpochIterator(
            self.loop.dataloader if loader is None else loader,
            self._before_epoch)

    def _before_epoch(self) -> None:
        self.runner.call_hook('before_train_epoch')
        if not self._own_loader and hasattr(self.batches.loader,
                                            'set_epoch'):
            # What DistSamplerSeedHook does for the loop's own loader.
            self.batches.loader.set_epoch(self.runner.epoch)
        self.runner.model.train()

    def begin(self, n_steps: int) -> None:
        if self._iter_based:
            # IterBasedTrainLoop keeps its own endless iterator.
            self.runner.model.train()
            return
        self.batches.ensure(n_steps)
        self.runner.model.train()

    def step(self) -> None:
        if self._iter_based:
            self.loop.run_iter(next(self.loop.dataloader_iterator))
            return
        index, batch = self.batches.next()
        self.loop.run_iter(index, batch)

    def close(self) -> None:
        """Stop the train dataloader's workers."""
        shutdown_workers(self.batches.loader)


class RunnerValSteps(_LoaderSteps):
    """One production validation iteration per step: next batch from the
    val loop's dataloader, then ``val_loop.run_iter`` (val iteration hooks,
    ``model.val_step``, ``evaluator.process``).

    Each segment is a slice of ``ValLoop.run``: ``before_val`` and
    ``before_val_epoch`` hooks, model in eval mode, the iterations, then
    ``after_val``. The epoch's end (metrics, ``after_val_epoch``, which logs
    them and picks the best checkpoint) is left out, so a hook that undoes
    in ``after_val_epoch`` what it did before (``EMAHook`` swapping weights)
    is not undone; that changes values, not speed. The evaluator's results
    are dropped before each segment so they do not pile up.

    Args:
        runner: A runner prepared by :func:`setup_training` with a val loop.
    """

    name = 'runner_eval'

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.loop = runner.val_loop
        self.batches = _EpochIterator(self.loop.dataloader)

    def begin(self, n_steps: int) -> None:
        self.batches.ensure(n_steps)
        for metric in self.loop.evaluator.metrics:
            metric.results.clear()
        self.loop.val_loss.clear()
        self.runner.call_hook('before_val')
        # Also starts IterTimerHook's clock, which before_val_iter reads.
        self.runner.call_hook('before_val_epoch')
        self.runner.model.eval()

    def step(self) -> None:
        index, batch = self.batches.next()
        self.loop.run_iter(index, batch)

    def end(self) -> None:
        self.runner.call_hook('after_val')
        self.runner.model.train()

    def close(self) -> None:
        """Stop the val dataloader's workers."""
        shutdown_workers(self.loop.dataloader)
