"""A standard loader's batches as images and labels, made in its workers.

mmpretrain's ``PackInputs`` gives every image a ``DataSample`` whose label is
a tensor of its own. A ``DataLoader`` with workers hands each tensor to the
main process through shared memory: a file descriptor per tensor, received
over a socket connection of its own and mapped again. That was 129
tensors per batch of 128 (2.2 ms of the main process's CPU time per batch
on a 2-core CPU, CIFAR-10, 2 workers), 1.1 ms as two tensors. Numpy arrays
are not shared but pickled into the worker's message, so a CIFAR batch
(0.4 MB) arrives with the message itself, without the descriptors: about
half of what the two tensors cost to receive.

A training step that takes tensors (``CapturedEpochBasedTrainLoop``) needs
only images and labels, so :class:`TensorCollate` reduces each batch to
them where the batch is made, and :func:`reduce_to_tensors` makes tensors
of the arrays in the main process (no copy).
"""
from typing import Any, Callable, Dict, Sequence, Union

import numpy as np
import torch

Batch = Dict[str, Union[torch.Tensor, np.ndarray]]


def reduce_to_tensors(batch: Dict[str, Any]) -> Dict[str, torch.Tensor]:
    """``dict(inputs=uint8 (B, C, H, W), labels=int64 (B,))`` tensors of a
    collated batch ``dict(inputs=tensor or list of (C, H, W) tensors,
    data_samples=B samples with gt_label)``, or of a reduced batch (returned
    as it is if it holds tensors; arrays become tensors sharing their
    memory)."""
    if 'labels' in batch and 'data_samples' not in batch:
        if isinstance(batch['inputs'], np.ndarray):
            return dict(inputs=torch.from_numpy(batch['inputs']),
                        labels=torch.from_numpy(batch['labels']))
        return batch
    inputs = batch['inputs']
    if isinstance(inputs, (list, tuple)):
        inputs = torch.stack(inputs)
    labels = torch.cat([sample.gt_label for sample in batch['data_samples']])
    return dict(inputs=inputs, labels=labels.to(torch.int64))


class TensorCollate:
    """``collate_fn`` followed by :func:`reduce_to_tensors`, handing over
    numpy arrays (see the module's note) unless the loader pins memory,
    which only tensors can be.

    Args:
        collate_fn (Callable): The loader's collate function (mmengine's
            ``default_collate`` or ``pseudo_collate``, or any returning
            ``inputs`` and ``data_samples``).
        as_arrays (bool): Return ``inputs`` and ``labels`` as numpy arrays.
            Defaults to True.
    """

    def __init__(self, collate_fn: Callable[[Sequence[Any]], Dict],
                 as_arrays: bool = True) -> None:
        self.collate_fn = collate_fn
        self.as_arrays = as_arrays

    def __call__(self, samples: Sequence[Any]) -> Batch:
        batch = reduce_to_tensors(self.collate_fn(samples))
        if self.as_arrays:
            return {key: value.numpy() for key, value in batch.items()}
        return batch
