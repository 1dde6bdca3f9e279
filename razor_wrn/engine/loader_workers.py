"""Stop a finished run's data loader workers while the run is still
reachable.

A Runner sits in reference cycles, so it is freed by Python's cyclic
garbage collector, which finalizes the objects of a cycle in no set order:
a persistent-worker iterator's ``__del__`` may then find its index queues
already closed, its "stop" message never reaches the workers, and torch
waits 5 s for each of them before terminating it. ``tools/reproduce.py``
(rows run one after another in one process) lost 30-50 s per row that way,
in the middle of building the next row's Runner.
"""
from mmengine.runner import BaseLoop
from torch.utils.data import DataLoader


def stop_loader_workers(runner) -> int:
    """Shut down the worker processes of the runner's built loaders.

    Args:
        runner (Runner): A runner whose train, val or test loop may have
            run; loops not yet built are left alone (not built here).

    Returns:
        int: The number of loaders whose workers were stopped.
    """
    stopped = 0
    # The private loop attributes: the public properties build a loop that
    # is still a config, and that is not wanted when a run ends.
    for name in ('_train_loop', '_val_loop', '_test_loop'):
        loop = getattr(runner, name, None)
        if not isinstance(loop, BaseLoop):
            continue
        # A loop may iterate loaders of its own built beside the Runner's
        # (CapturedEpochBasedTrainLoop's grouped loaders).
        loaders = [getattr(loop, 'dataloader', None)] + list(
            getattr(loop, 'worker_loaders', list)())
        stopped += sum(_stop(loader) for loader in loaders)
    return stopped


def _stop(loader) -> bool:
    """Shut down a persistent-worker ``DataLoader``'s workers (kept with
    its iterator between epochs in ``_iterator``); whether it had any."""
    iterator = getattr(loader, '_iterator', None) \
        if isinstance(loader, DataLoader) else None
    if iterator is None or not hasattr(iterator, '_shutdown_workers'):
        return False
    loader._iterator = None
    iterator._shutdown_workers()
    return True
