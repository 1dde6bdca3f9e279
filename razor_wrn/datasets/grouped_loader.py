"""A standard loader's epoch as whole batches, several per worker message.

:func:`grouped_loader` builds a ``DataLoader`` beside a training or
validation ``DataLoader``: the same batch sampler (so the same batches,
order, epoch and seed), workers and worker settings, over the split as a
:class:`~.batched_split.BatchedSplit` whose workers make each batch in one
go, and with :class:`~.batch_groups.BatchGroups` sending them
``IMAGES_PER_MESSAGE`` images' worth of batches per message.
``CapturedEpochBasedTrainLoop`` (steps on tensor batches) and
``TensorValLoop`` iterate it and cut each group into its batches
(``split_group``). The loader it was
built from stays the Runner's: its length, sampler and checkpointed state
are unchanged, and its own workers never start.
"""
from typing import Dict, Optional, Tuple

from torch.utils.data import DataLoader

from .batch_groups import BatchGroups
from .batched_split import batched_split_of
from .loader_settings import batch_size_of

# A worker's message carries this many images (at most 1,024 / batch size
# batches): a batch of 128 CIFAR images is 0.4 MB, so a message of 8 is 3 MB
# and the loader keeps 2 x workers of them in flight.
IMAGES_PER_MESSAGE = 1024


def made_as_is(batch: Dict) -> Dict:
    """The collate function of a split that makes whole batches itself (a
    module-level function: workers started by spawn unpickle it)."""
    return batch


def grouped_loader(loader: DataLoader
                   ) -> Tuple[Optional[DataLoader], int, str]:
    """A loader of ``loader``'s batches made whole, in groups.

    Args:
        loader (DataLoader): A loader with a batch size.

    Returns:
        tuple: The grouped loader, its batches per group, and '' - or None,
        0 and why not (for a log line).
    """
    batch_size = batch_size_of(loader)
    if batch_size is None or loader.batch_sampler is None:
        return None, 0, 'the loader makes no batches'
    split, reason = batched_split_of(loader.dataset,
                                     as_arrays=not loader.pin_memory)
    if split is None:
        return None, 0, reason
    workers = loader.num_workers
    per_group = max(1, IMAGES_PER_MESSAGE // batch_size) if workers else 1
    settings = dict(
        num_workers=workers, pin_memory=loader.pin_memory,
        timeout=loader.timeout, worker_init_fn=loader.worker_init_fn,
        multiprocessing_context=loader.multiprocessing_context,
        generator=loader.generator,
        persistent_workers=loader.persistent_workers)
    if workers:
        settings['prefetch_factor'] = loader.prefetch_factor
    if hasattr(loader, 'in_order'):
        settings['in_order'] = loader.in_order
    grouped = DataLoader(split,
                         batch_sampler=BatchGroups(loader.batch_sampler,
                                                   per_group),
                         collate_fn=made_as_is, **settings)
    return grouped, per_group, ''
