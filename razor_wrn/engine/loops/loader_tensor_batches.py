"""A loader's epochs as tensor batches on the model's device.

``CapturedEpochBasedTrainLoop`` trains, and ``TensorValLoop`` validates, on
``dict(inputs=uint8 (B, C, H, W), labels=int64 (B,))``. A device-resident
loader holds them already. A standard ``DataLoader`` whose pipeline is the
CIFAR configs' is iterated through a loader built beside it
(:func:`~razor_wrn.datasets.grouped_loader.grouped_loader`: whole batches
made from arrays of the split, several per worker message); for any other
pipeline its workers
collate each batch into the two (:class:`~razor_wrn.datasets.
tensor_collate.TensorCollate`: numpy arrays, cheaper to receive, or tensors
where the loader pins memory), set before they start.
"""
from typing import Dict, Iterator, List, Optional, Tuple

import torch
from torch.utils.data import DataLoader

from razor_wrn.datasets.batch_groups import split_group
from razor_wrn.datasets.device_cifar import DeviceTensorLoader
from razor_wrn.datasets.grouped_loader import grouped_loader
from razor_wrn.datasets.loader_settings import batch_size_of
from razor_wrn.datasets.tensor_collate import (TensorCollate,
                                               reduce_to_tensors)


def collate_tensors_in_workers(loader: DataLoader) -> bool:
    """Make a standard ``DataLoader`` collate its batches into images and
    labels (``TensorCollate``) before its workers start; whether it now
    does (not where persistent workers already run the old one: each batch
    is then reduced in this process)."""
    if isinstance(loader.collate_fn, TensorCollate):
        return True
    if getattr(loader, '_iterator', None) is not None:
        return False
    loader.collate_fn = TensorCollate(loader.collate_fn,
                                      as_arrays=not loader.pin_memory)
    return True


class LoaderTensorBatches:
    """Tensor batches of loaders, with each standard loader's
    grouped loader built once (the first time it is asked for)."""

    def __init__(self) -> None:
        # loader -> (its grouped loader or None, batches per group, why
        # none); a DataLoader hashes by identity.
        self._grouped: Dict[DataLoader, Tuple] = {}

    def prepare(self, loader) -> str:
        """Set ``loader`` up before its first epoch and say how its batches
        are made, for the log line ('' for a device loader)."""
        if isinstance(loader, DataLoader) and \
                self._grouped_loader(loader)[0] is None:
            collate_tensors_in_workers(loader)
        return self.handover(loader)

    def makes_whole(self, loader) -> bool:
        """Whether ``loader``'s batches are made whole from arrays (a
        standard loader with the CIFAR configs' pipeline)."""
        return isinstance(loader, DataLoader) and \
            self._grouped_loader(loader)[0] is not None

    def handover(self, loader) -> str:
        """How ``loader``'s batches become tensor batches ('' for a device
        loader, which holds them as tensors)."""
        if not isinstance(loader, DataLoader):
            return ''
        grouped, per_group, why_not = self._grouped_loader(loader)
        if grouped is not None:
            return ('whole batches made from arrays of the split' + (
                f', {per_group} per worker message' if loader.num_workers
                else ''))
        how = f'batches made image by image ({why_not})'
        collate = loader.collate_fn
        if isinstance(collate, TensorCollate):
            how += ', collated into images and labels ({})'.format(
                'numpy arrays' if collate.as_arrays else 'tensors')
        return how

    def epoch(self, loader, device: torch.device
              ) -> Iterator[Dict[str, torch.Tensor]]:
        """One epoch of ``loader`` as ``dict(inputs=uint8 (B, C, H, W),
        labels=int64 (B,))`` on ``device``.

        Args:
            loader (DataLoader | DeviceTensorLoader): The batches.
            device (torch.device): The model's device.
        """
        if isinstance(loader, DeviceTensorLoader):
            yield from loader.tensor_batches()
            return
        grouped = self._grouped_loader(loader)[0]
        if grouped is not None:
            batch_size = batch_size_of(loader)
            for group in grouped:
                group = reduce_to_tensors(group)
                yield from split_group(
                    {key: value.to(device, non_blocking=True)
                     for key, value in group.items()}, batch_size)
            return
        for batch in loader:
            batch = reduce_to_tensors(batch)
            yield dict(
                inputs=batch['inputs'].to(device, non_blocking=True),
                labels=batch['labels'].to(device, non_blocking=True))

    def worker_loaders(self) -> List[DataLoader]:
        """The grouped loaders built so far (their workers are stopped
        with the Runner's: ``stop_loader_workers``)."""
        return [grouped for grouped, _, _ in self._grouped.values()
                if grouped is not None]

    def _grouped_loader(self, loader: DataLoader
                        ) -> Tuple[Optional[DataLoader], int, str]:
        if loader not in self._grouped:
            self._grouped[loader] = grouped_loader(loader)
        return self._grouped[loader]
