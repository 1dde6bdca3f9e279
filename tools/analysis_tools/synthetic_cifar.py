"""A CIFAR-10 folder of random images, for benchmarks without the dataset.

The files have the official layout and format (``cifar-10-batches-py`` with
``data_batch_1..5``, ``test_batch`` and ``batches.meta``), so the config's
own dataset class and pipeline read them exactly as they read CIFAR-10 and
the measured data path is the production one. Their md5 sums differ from the
release, so ``LenientCIFAR10`` warns once when loading them.
"""
import pickle
from pathlib import Path

import numpy as np

_LABEL_NAMES = [
    'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse',
    'ship', 'truck'
]


def _dump(path: Path, obj: dict) -> None:
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=2)


def write_random_cifar10(data_root: str, num_train: int, num_test: int,
                         seed: int = 0) -> str:
    """Write uniform-noise CIFAR-10 splits under ``data_root``.

    Args:
        data_root: Directory to create ``cifar-10-batches-py`` in.
        num_train: Training images (rounded up to a multiple of 10; labels
            cycle through the ten classes).
        num_test: Test images (rounded up likewise).
        seed: Seed of the pixels.

    Returns:
        str: ``data_root``, the value a dataset config's ``data_root`` takes.
    """
    folder = Path(data_root) / 'cifar-10-batches-py'
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for split, count in (('train', num_train), ('test', num_test)):
        count = -(-max(count, 10) // 10) * 10
        labels = np.arange(count) % 10
        data = rng.integers(0, 256, (count, 3 * 32 * 32), dtype=np.uint8)
        if split == 'test':
            parts = [('test_batch', np.arange(count))]
        else:
            parts = [(f'data_batch_{k + 1}', index) for k, index in
                     enumerate(np.array_split(np.arange(count), 5))]
        for file_name, index in parts:
            _dump(folder / file_name, {
                'batch_label': file_name,
                'labels': labels[index].tolist(),
                'data': data[index],
                'filenames': [f'random_{i:05d}.png' for i in index],
            })
    _dump(folder / 'batches.meta', {
        'num_cases_per_batch': 10000,
        'label_names': list(_LABEL_NAMES),
        'num_vis': 3072,
    })
    return str(data_root)
