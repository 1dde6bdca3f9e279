"""Shared pytest fixtures: tiny CIFAR-10 / CIFAR-100 in the official format.

``tiny_cifar10`` is the ``data_root`` of a 80 + 40 image CIFAR-10 (a dir that
contains ``cifar-10-batches-py``), for dataset, Runner and tool tests::

    dataset = dict(type='LenientCIFAR10', data_root=tiny_cifar10,
                   download=False, ...)

``tiny_cifar100`` is the same for a 200 + 100 image CIFAR-100
(``cifar-100-python``, ``LenientCIFAR100``). Their md5 sums differ from the
official files, so loading them emits a ``CIFARChecksumWarning``.
``make_tiny_cifar10(...)`` / ``make_tiny_cifar100(...)`` write other sizes,
or images whose class is learnable (``signal=True``: each class has its own
mean colour, so a small CNN separates them in a few steps despite crop/flip);
all are written by ``razor_wrn.datasets.synthetic_cifar``.

``tools`` gives tools/train.py, tools/test.py and the KD converter as modules
(tests call their ``main(argv)``); ``data_options`` points a config's loaders
at tiny data.
"""
import importlib.util
import os
from pathlib import Path
from types import ModuleType
from typing import Callable, Dict, Tuple

import pytest

from razor_wrn.datasets.synthetic_cifar import write_synthetic_cifar


def _tiny_cifar_factory(tmp_path_factory: pytest.TempPathFactory,
                        num_classes: int, default_train: int,
                        default_test: int) -> Callable[..., str]:
    """``(per_class_train=default_train, per_class_test=default_test,
    signal=False, seed=0) -> data_root`` writing each distinct request once
    per session."""
    written: Dict[Tuple[int, int, bool, int], str] = {}

    def make(per_class_train: int = default_train,
             per_class_test: int = default_test,
             signal: bool = False,
             seed: int = 0) -> str:
        key = (per_class_train, per_class_test, signal, seed)
        if key not in written:
            data_root = tmp_path_factory.mktemp(f'cifar{num_classes}')
            write_synthetic_cifar(str(data_root), num_classes, *key)
            written[key] = str(data_root)
        return written[key]

    return make


@pytest.fixture(scope='session')
def make_tiny_cifar10(
        tmp_path_factory: pytest.TempPathFactory) -> Callable[..., str]:
    """Factory ``(per_class_train=8, per_class_test=4, signal=False, seed=0)
    -> data_root`` of a CIFAR-10 folder, each distinct request written once
    per session.

    Treat the returned folders as read-only: other tests share them. Copy one
    (``shutil.copytree``) before changing files in it.
    """
    return _tiny_cifar_factory(tmp_path_factory, 10, 8, 4)


@pytest.fixture(scope='session')
def tiny_cifar10(make_tiny_cifar10: Callable[..., str]) -> str:
    """``data_root`` (str) of a tiny CIFAR-10: 8 train / 4 test per class.

    80 training images (16 per ``data_batch_k``) and 40 test images, uniform
    random pixels from seed 0, labels ``i % 10`` for image ``i``. Read-only.
    """
    return make_tiny_cifar10()


@pytest.fixture(scope='session')
def make_tiny_cifar100(
        tmp_path_factory: pytest.TempPathFactory) -> Callable[..., str]:
    """Factory ``(per_class_train=2, per_class_test=1, signal=False, seed=0)
    -> data_root`` of a CIFAR-100 folder, as ``make_tiny_cifar10``.
    Read-only."""
    return _tiny_cifar_factory(tmp_path_factory, 100, 2, 1)


@pytest.fixture(scope='session')
def tiny_cifar100(make_tiny_cifar100: Callable[..., str]) -> str:
    """``data_root`` (str) of a tiny CIFAR-100: 2 train / 1 test per class.

    200 training images (one ``train`` file) and 100 test images, uniform
    random pixels from seed 0, fine labels ``i % 100`` for image ``i``.
    Read-only.
    """
    return make_tiny_cifar100()


REPO = Path(__file__).resolve().parents[1]

if os.environ.get('PYTEST_XDIST_WORKER'):
    # The workers already use every core; more threads per worker (and per
    # tool subprocess, which inherits this) only compete for them.
    os.environ['OMP_NUM_THREADS'] = '1'
    import torch
    torch.set_num_threads(1)


def load_tool(relative_path: str) -> ModuleType:
    """Import a script from tools/ as a module, so tests call its main()."""
    path = REPO / 'tools' / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(tool: ModuleType, argv: list, capsys: pytest.CaptureFixture
             ) -> Tuple[int, Tuple[str, str]]:
    """Run a tool's ``main`` as its command line does (``run_cli``: user
    errors become one line and exit code 1); return (exit code, the
    captured ``(out, err)``)."""
    from razor_wrn.cli import run_cli
    try:
        run_cli(tool.main, argv)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr()


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
def _in_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test from the repository root, wherever pytest was started,
    so the configs' relative paths (and their ``_base_`` files) resolve."""
    monkeypatch.chdir(REPO)


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
