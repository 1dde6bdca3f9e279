"""TensorCollate gives the images and labels the collated samples hold, as
numpy arrays (or tensors, for a loader that pins memory), and
reduce_to_tensors makes the same tensors of either."""
import pickle

import numpy as np
import torch
import torch.multiprocessing  # noqa: F401  (registers the tensor reducers)
from mmengine.dataset import default_collate, pseudo_collate
from mmpretrain.structures import DataSample
from multiprocessing.reduction import ForkingPickler

from razor_wrn.datasets.tensor_collate import TensorCollate, reduce_to_tensors


def samples(height: int = 4, width: int = 5):
    generator = torch.Generator().manual_seed(0)
    return [dict(inputs=torch.randint(0, 256, (3, height, width),
                                      dtype=torch.uint8,
                                      generator=generator),
                 data_samples=DataSample().set_gt_label(label))
            for label in (3, 0, 7)]


def test_both_mmengine_collates_reduce_to_the_same_tensors():
    items = samples()
    for collate in (default_collate, pseudo_collate):
        for as_arrays in (True, False):
            made = TensorCollate(collate, as_arrays=as_arrays)(items)
            assert made.keys() == {'inputs', 'labels'}
            kind = np.ndarray if as_arrays else torch.Tensor
            assert all(isinstance(v, kind) for v in made.values())
            batch = reduce_to_tensors(made)
            assert torch.equal(batch['inputs'],
                               torch.stack([item['inputs'] for item in items]))
            assert batch['labels'].dtype == torch.int64
            assert torch.equal(batch['labels'], torch.tensor([3, 0, 7]))


def test_arrays_travel_inside_the_message_and_arrive_writable():
    """What a worker's queue does with a batch: tensors leave a shared-memory
    handle (a file descriptor to receive), arrays their bytes."""
    arrays = TensorCollate(default_collate)(samples(32, 32))
    message = ForkingPickler.dumps(arrays)
    assert len(message) > arrays['inputs'].nbytes
    batch = reduce_to_tensors(pickle.loads(message))
    batch['inputs'][0, 0, 0, 0] = 1  # writable: numpy owns a copy
    tensors = TensorCollate(default_collate, as_arrays=False)(samples(32, 32))
    assert len(ForkingPickler.dumps(tensors)) < tensors['inputs'].nbytes


def test_a_reduced_batch_of_tensors_is_kept_as_it_is():
    batch = TensorCollate(default_collate, as_arrays=False)(samples())
    assert reduce_to_tensors(batch) is batch
