"""A built loader's batch size, ``drop_last`` and sampler, wherever it keeps
them.

torch's ``DataLoader`` sets both to None / False when it is given a batch
sampler (mmengine then passes the config's ``batch_size`` to the batch
sampler), and the device-resident loaders keep them themselves.
"""
from typing import Optional


def batch_size_of(loader) -> Optional[int]:
    """Samples per batch of ``loader`` (its batch sampler's, if it has one);
    None if neither says."""
    size = getattr(loader, 'batch_size', None)
    if size is None:
        size = getattr(getattr(loader, 'batch_sampler', None), 'batch_size',
                       None)
    return size


def drop_last_of(loader) -> Optional[bool]:
    """Whether ``loader`` drops the last smaller batch of an epoch (its batch
    sampler's setting, if it has one); None if neither says."""
    batch_sampler = getattr(loader, 'batch_sampler', None)
    if getattr(loader, 'batch_size', None) is None and hasattr(
            batch_sampler, 'drop_last'):
        return batch_sampler.drop_last
    return getattr(loader, 'drop_last', None)


def sampler_of(loader):
    """The sampler that orders ``loader``'s samples: its batch sampler's
    (torch's ``BatchSampler``, ``SeededBatchSampler``), else its own."""
    return getattr(getattr(loader, 'batch_sampler', None), 'sampler',
                   loader.sampler)
