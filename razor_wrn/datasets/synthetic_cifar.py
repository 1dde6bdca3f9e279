"""Synthetic CIFAR-10 / CIFAR-100 folders in the official python layout.

For tests and benchmarks without the data set: the files have the official
names, keys and dtypes, so the configs' own dataset classes and pipelines
read them exactly as they read the release. Their md5 sums differ from it,
so ``LenientCIFAR10`` / ``LenientCIFAR100`` warn once when loading them.

* CIFAR-10: ``cifar-10-batches-py/data_batch_1..5`` (the training images
  split with ``np.array_split``), ``test_batch`` (dicts of ``'batch_label'``,
  ``'labels'``, ``'data'``, ``'filenames'``) and ``batches.meta``
  (``'label_names'``).
* CIFAR-100: ``cifar-100-python/train``, ``test`` (``'fine_labels'``,
  ``'coarse_labels'``, ``'data'``, ``'filenames'``, ``'batch_label'``) and
  ``meta`` (``'fine_label_names'``, ``'coarse_label_names'``). The coarse
  labels are placeholders (``fine // 5``, named ``superclass_k``): nothing
  here reads them, and the official fine-to-coarse map is not reproduced.

From the command line (see ``--help``)::

    python -m razor_wrn.datasets.synthetic_cifar data/synthetic
"""
import argparse
import pickle
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
from mmpretrain.datasets.categories import (CIFAR10_CATEGORIES,
                                            CIFAR100_CATEGORIES)


def _images(labels: np.ndarray, num_classes: int, signal: bool,
            rng: np.random.Generator) -> np.ndarray:
    """``uint8`` rows of 3072 CHW pixels for ``labels``.

    Without signal the pixels are uniform noise. With it, class ``c`` has
    the mean colour whose RGB levels are the base-``L`` digits of ``c``
    (``L`` levels evenly spaced over 48..208, ``L**3 >= num_classes``: 3 for
    CIFAR-10, 5 for CIFAR-100) plus noise of std 24, so classes differ by at
    least ``160 / (L - 1)`` grey levels in one channel.
    """
    if not signal:
        return rng.integers(0, 256, (len(labels), 3072), dtype=np.uint8)
    num_levels = int(np.ceil(num_classes**(1 / 3) - 1e-9))
    levels = np.linspace(48, 208, num_levels)
    colours = np.array([[levels[(c // num_levels**k) % num_levels]
                         for k in range(3)] for c in range(num_classes)])
    means = np.repeat(colours[labels], 1024, axis=1)  # CHW rows
    noise = rng.normal(0, 24, (len(labels), 3072))
    return np.clip(np.rint(means + noise), 0, 255).astype(np.uint8)


def _dump(path: Path, obj: dict) -> None:
    """Write ``obj`` with plain pickle, as the official files were."""
    with open(path, 'wb') as f:
        pickle.dump(obj, f)


def _cifar10_files(split: str, labels: np.ndarray, data: np.ndarray,
                   names: List[str]) -> List[Tuple[str, Dict]]:
    """``(file name, content)`` of a CIFAR-10 split."""
    if split == 'test':
        parts = [('test_batch', 'testing batch 1 of 1',
                  np.arange(len(labels)))]
    else:
        parts = [(f'data_batch_{k + 1}', f'training batch {k + 1} of 5',
                  index) for k, index in enumerate(
                      np.array_split(np.arange(len(labels)), 5))]
    return [(file_name, {
        'batch_label': batch_label,
        'labels': [int(labels[i]) for i in index],
        'data': data[index],
        'filenames': [names[i] for i in index],
    }) for file_name, batch_label, index in parts]


def _cifar100_files(split: str, labels: np.ndarray, data: np.ndarray,
                    names: List[str]) -> List[Tuple[str, Dict]]:
    """``(file name, content)`` of a CIFAR-100 split (one file)."""
    return [(split, {
        'filenames': names,
        'batch_label': f'{split}ing batch 1 of 1',
        'fine_labels': labels.tolist(),
        'coarse_labels': (labels // 5).tolist(),
        'data': data,
    })]


def write_synthetic_cifar(data_root: str,
                          num_classes: int = 10,
                          per_class_train: int = 8,
                          per_class_test: int = 4,
                          signal: bool = False,
                          seed: int = 0) -> Path:
    """Write a CIFAR-10 or CIFAR-100 folder under ``data_root``.

    Labels cycle ``0, 1, ..., num_classes - 1, 0, 1, ...`` in each split.

    Args:
        data_root (str): Directory to create the folder in (the value a
            dataset config's ``data_root`` takes).
        num_classes (int): 10 (``cifar-10-batches-py``) or 100
            (``cifar-100-python``). Defaults to 10.
        per_class_train (int): Training images per class. Defaults to 8.
        per_class_test (int): Test images per class. Defaults to 4.
        signal (bool): Give each class its own mean colour instead of pure
            noise, so a small CNN separates them in a few steps despite
            crop and flip. Defaults to False.
        seed (int): Seed of the pixels. Defaults to 0.

    Returns:
        Path: The written folder (``cifar-10-batches-py`` or
        ``cifar-100-python``).

    Raises:
        ValueError: ``num_classes`` is neither 10 nor 100.
    """
    if num_classes == 10:
        folder, write_split = 'cifar-10-batches-py', _cifar10_files
        meta_name, meta = 'batches.meta', {
            'num_cases_per_batch': per_class_train * 2,
            'label_names': list(CIFAR10_CATEGORIES),
            'num_vis': 3072,
        }
    elif num_classes == 100:
        folder, write_split = 'cifar-100-python', _cifar100_files
        meta_name, meta = 'meta', {
            'fine_label_names': list(CIFAR100_CATEGORIES),
            'coarse_label_names': [f'superclass_{k}' for k in range(20)],
        }
    else:
        raise ValueError(f'num_classes must be 10 or 100, got {num_classes}')
    folder = Path(data_root) / folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for split, per_class in (('train', per_class_train),
                             ('test', per_class_test)):
        labels = np.tile(np.arange(num_classes), per_class)
        data = _images(labels, num_classes, signal, rng)
        names = [f'synthetic_{split}_{i:05d}.png' for i in range(len(labels))]
        for file_name, content in write_split(split, labels, data, names):
            _dump(folder / file_name, content)
    _dump(folder / meta_name, meta)
    return folder


def main(argv: Optional[List[str]] = None) -> None:
    """``python -m razor_wrn.datasets.synthetic_cifar DATA_ROOT [...]``:
    write a folder to try the tools without the data set."""
    parser = argparse.ArgumentParser(
        description='Write a synthetic CIFAR folder in the official layout')
    parser.add_argument('data_root', help='folder to write it in')
    parser.add_argument('--classes', type=int, choices=(10, 100), default=10)
    parser.add_argument('--per-class-train', type=int, default=100)
    parser.add_argument('--per-class-test', type=int, default=20)
    parser.add_argument(
        '--noise', action='store_true',
        help='pure noise (default: each class has its own mean colour, so '
        'a model learns it in a few steps)')
    args = parser.parse_args(argv)
    folder = write_synthetic_cifar(args.data_root, args.classes,
                                   args.per_class_train, args.per_class_test,
                                   signal=not args.noise)
    print(f'Wrote {folder}')


if __name__ == '__main__':
    main()
