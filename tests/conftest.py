"""Shared pytest fixtures: a tiny CIFAR-10 in the official on-disk format.

``tiny_cifar10`` is the ``data_root`` of a 80 + 40 image CIFAR-10 (a dir that
contains ``cifar-10-batches-py``), for dataset, Runner and tool tests::

    dataset = dict(type='LenientCIFAR10', data_root=tiny_cifar10,
                   download=False, ...)

Its md5 sums differ from the official files, so loading it emits a
``CIFAR10ChecksumWarning``. ``make_tiny_cifar10(...)`` writes other sizes, or
images whose class is learnable (``signal=True``: each class has its own mean
colour, so a small CNN separates them in a few steps despite crop/flip).

``tools`` gives tools/train.py, tools/test.py and the KD converter as modules
(tests call their ``main(argv)``); ``data_options`` points a config's loaders
at tiny data.
"""
import importlib.util
import pickle
from pathlib import Path
from types import ModuleType
from typing import Callable, Dict, Tuple

import numpy as np
import pytest

# batches.meta['label_names'] of the official release, in label order.
CIFAR10_LABEL_NAMES = [
    'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse',
    'ship', 'truck'
]


def _images(labels: np.ndarray, signal: bool,
            rng: np.random.Generator) -> np.ndarray:
    """``uint8`` rows of 3072 CHW pixels for ``labels``.

    Without signal the pixels are uniform noise. With it, class ``c`` has
    mean colour ``_LEVELS[digits of c in base 3]`` plus noise of std 24, so
    classes differ by at least 80 grey levels in one channel.
    """
    if not signal:
        return rng.integers(0, 256, (len(labels), 3072), dtype=np.uint8)
    levels = np.array([48, 128, 208])
    colours = np.array([[levels[(c // 3**k) % 3] for k in range(3)]
                        for c in range(10)])  # (10, 3) RGB means
    means = np.repeat(colours[labels], 1024, axis=1)  # CHW rows
    noise = rng.normal(0, 24, (len(labels), 3072))
    return np.clip(np.rint(means + noise), 0, 255).astype(np.uint8)


def _dump(path: Path, obj: dict) -> None:
    """Write ``obj`` with plain pickle, as the official files were."""
    with open(path, 'wb') as f:
        pickle.dump(obj, f)


def write_tiny_cifar10(data_root: Path,
                       per_class_train: int = 8,
                       per_class_test: int = 4,
                       signal: bool = False,
                       seed: int = 0) -> Path:
    """Write ``data_root/cifar-10-batches-py`` in the official layout.

    Labels cycle ``0, 1, ..., 9, 0, 1, ...``; the training images are split
    over ``data_batch_1..5`` with ``np.array_split`` (80 images: 16 each).
    Each batch is a dict with ``'batch_label'``, ``'labels'`` (list of int),
    ``'data'`` (``uint8`` ``(N, 3072)``, CHW per row) and ``'filenames'``;
    ``batches.meta`` holds ``'label_names'``.

    Args:
        data_root (Path): Directory to create the folder in.
        per_class_train (int): Training images per class. Defaults to 8.
        per_class_test (int): Test images per class. Defaults to 4.
        signal (bool): Give each class its own mean colour instead of pure
            noise. Defaults to False.
        seed (int): Seed of the pixels. Defaults to 0.

    Returns:
        Path: The ``cifar-10-batches-py`` folder.
    """
    folder = Path(data_root) / 'cifar-10-batches-py'
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for split, per_class in (('train', per_class_train),
                             ('test', per_class_test)):
        labels = np.tile(np.arange(10), per_class)
        data = _images(labels, signal, rng)
        names = [f'tiny_{split}_{i:05d}.png' for i in range(len(labels))]
        if split == 'test':
            parts = [('test_batch', 'testing batch 1 of 1',
                      np.arange(len(labels)))]
        else:
            parts = [(f'data_batch_{k + 1}', f'training batch {k + 1} of 5',
                      index) for k, index in enumerate(
                          np.array_split(np.arange(len(labels)), 5))]
        for file_name, batch_label, index in parts:
            _dump(
                folder / file_name, {
                    'batch_label': batch_label,
                    'labels': [int(labels[i]) for i in index],
                    'data': data[index],
                    'filenames': [names[i] for i in index],
                })
    _dump(folder / 'batches.meta', {
        'num_cases_per_batch': per_class_train * 2,
        'label_names': list(CIFAR10_LABEL_NAMES),
        'num_vis': 3072,
    })
    return folder


@pytest.fixture(scope='session')
def make_tiny_cifar10(
        tmp_path_factory: pytest.TempPathFactory) -> Callable[..., str]:
    """Factory ``(per_class_train=8, per_class_test=4, signal=False, seed=0)
    -> data_root`` writing each distinct request once per session.

    Treat the returned folders as read-only: other tests share them. Copy one
    (``shutil.copytree``) before changing files in it.
    """
    written: Dict[Tuple[int, int, bool, int], str] = {}

    def make(per_class_train: int = 8,
             per_class_test: int = 4,
             signal: bool = False,
             seed: int = 0) -> str:
        key = (per_class_train, per_class_test, signal, seed)
        if key not in written:
            data_root = tmp_path_factory.mktemp('cifar10')
            write_tiny_cifar10(data_root, *key)
            written[key] = str(data_root)
        return written[key]

    return make


@pytest.fixture(scope='session')
def tiny_cifar10(make_tiny_cifar10: Callable[..., str]) -> str:
    """``data_root`` (str) of a tiny CIFAR-10: 8 train / 4 test per class.

    80 training images (16 per ``data_batch_k``) and 40 test images, uniform
    random pixels from seed 0, labels ``i % 10`` for image ``i``. Read-only.
    """
    return make_tiny_cifar10()


REPO = Path(__file__).resolve().parents[1]


def load_tool(relative_path: str) -> ModuleType:
    """Import a script from tools/ as a module, so tests call its main()."""
    path = REPO / 'tools' / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def tools():
    """The train/test/convert tools as modules."""
    return {
        'train': load_tool('train.py'),
        'test': load_tool('test.py'),
        'convert': load_tool(
            'model_converters/convert_kd_ckpt_to_student.py'),
    }


def _data_options(data_root: str, batch_size: int) -> list:
    """--cfg-options pointing every loader at tiny data, in-process."""
    options = []
    for loader in ('train', 'val', 'test'):
        options += [
            f'{loader}_dataloader.dataset.data_root={data_root}',
            f'{loader}_dataloader.batch_size={batch_size}',
            f'{loader}_dataloader.num_workers=0',
            f'{loader}_dataloader.persistent_workers=False',
        ]
    return options + ['default_hooks.logger.interval=1']


@pytest.fixture(scope='session')
def data_options() -> Callable[[str, int], list]:
    """``(data_root, batch_size) -> list`` of --cfg-options for tiny data."""
    return _data_options


@pytest.fixture(autouse=True)
def _fresh_default_scope():
    """Give every test an empty mmengine default scope.

    Each Runner leaves its ``default_scope`` (mmpretrain for vanilla configs,
    mmrazor for KD configs) as the process-wide current scope, and registry
    builds then search that package's registry first. Without this, a test
    would pass or fail depending on which tests ran before it.
    """
    from mmengine.registry import DefaultScope
    saved = dict(DefaultScope._instance_dict)
    DefaultScope._instance_dict.clear()
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(saved)
