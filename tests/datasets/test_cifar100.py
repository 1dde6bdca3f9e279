"""Contracts of ``LenientCIFAR100``: mmpretrain's CIFAR-100 data (fine labels)
with CIFAR-10's safe loading, clear errors and md5 leniency, all naming
CIFAR-100."""
import pickle
import shutil
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import razor_wrn  # noqa: F401  (compat shim before anything mmrazor)
from mmpretrain.datasets import CIFAR100
from mmpretrain.datasets.categories import CIFAR100_CATEGORIES
from mmpretrain.registry import DATASETS
from razor_wrn.datasets import (CIFARChecksumWarning, CIFARDataError,
                                LenientCIFAR100)

URL = 'https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz'
FOLDER = 'cifar-100-python'


class _NoMd5CIFAR100(CIFAR100):
    """mmpretrain's own CIFAR100 with md5 checks off: the reference loader."""
    train_list = [['train', None]]
    test_list = [['test', None]]


def _load(data_root: str, **kwargs: Any) -> LenientCIFAR100:
    """Build the dataset, ignoring the expected md5 warning of tiny data."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', CIFARChecksumWarning)
        return LenientCIFAR100(data_root=data_root, download=False,
                               serialize_data=False, **kwargs)


def _raw(folder: Path, name: str) -> dict:
    with open(folder / name, 'rb') as f:
        return pickle.load(f)


def _dump(path: Path, obj: Any) -> None:
    with open(path, 'wb') as f:
        pickle.dump(obj, f)


@pytest.fixture
def cifar_copy(tiny_cifar100: str, tmp_path: Path) -> Path:
    """A private, writable copy of the tiny data; returns its data_root."""
    shutil.copytree(tiny_cifar100, tmp_path / 'data', dirs_exist_ok=True)
    return tmp_path / 'data'


def test_registered_in_mmpretrain() -> None:
    assert DATASETS.get('LenientCIFAR100') is LenientCIFAR100


@pytest.mark.parametrize('split', ['train', 'test'])
def test_fine_labels_and_images_as_mmpretrain(tiny_cifar100: str,
                                              split: str) -> None:
    ours = _load(tiny_cifar100, split=split)
    reference = _NoMd5CIFAR100(data_root=tiny_cifar100, split=split,
                               download=False)
    length = 200 if split == 'train' else 100
    labels = [ours.get_data_info(i)['gt_label'] for i in range(len(ours))]
    assert len(ours) == len(reference) == length
    assert labels == [i % 100 for i in range(length)]
    assert ours.CLASSES == CIFAR100_CATEGORIES and len(ours.CLASSES) == 100
    assert ours.metainfo == reference.metainfo
    for i in (0, 99, length - 1):
        np.testing.assert_array_equal(ours.get_data_info(i)['img'],
                                      reference.get_data_info(i)['img'])
    row = _raw(Path(tiny_cifar100) / FOLDER, split)['data'][length - 1]
    img = ours.get_data_info(length - 1)['img']
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8
    assert img[5, 31, 1] == row[1 * 1024 + 5 * 32 + 31]


def test_class_names_from_meta_fine_label_names(cifar_copy: Path) -> None:
    folder = cifar_copy / FOLDER
    meta = _raw(folder, 'meta')
    meta['fine_label_names'] = [f'c{i}' for i in range(100)]
    _dump(folder / 'meta', meta)
    dataset = _load(str(cifar_copy), metainfo=dict(classes=None))
    assert dataset.CLASSES == tuple(f'c{i}' for i in range(100))


def test_md5_mismatch_warns_naming_cifar100(tiny_cifar100: str) -> None:
    with pytest.warns(CIFARChecksumWarning) as record:
        LenientCIFAR100(data_root=tiny_cifar100, split='test', download=False)
    assert len(record) == 1
    folder = Path(tiny_cifar100).resolve() / FOLDER
    assert str(record[0].message).startswith(
        f'LenientCIFAR100: train, test, meta in {folder} differ from the '
        'official CIFAR-100 release (md5 mismatch)')


def _expected_in(data_root: Path, download: bool = False) -> str:
    how = (f'Without network access, download {URL} elsewhere and extract '
           f'it into {data_root.resolve()}.') if download else (
        'To get it, pass download=True (needs network access), or download '
        f'{URL} and extract it into {data_root.resolve()}.')
    return (f'CIFAR-100 is expected in {data_root.resolve() / FOLDER} as the '
            f'official python version (train, test, meta). {how}')


@pytest.mark.parametrize('edit,reason', [
    (lambda b: b.pop('fine_labels'), "keys ['fine_labels'] are missing"),
    (lambda b: b['fine_labels'].__setitem__(7, 100),
     'labels [100] are outside 0..99'),
])
def test_broken_file_is_one_clear_error(cifar_copy: Path, edit: Any,
                                        reason: str) -> None:
    folder = cifar_copy / FOLDER
    batch = _raw(folder, 'train')
    edit(batch)
    _dump(folder / 'train', batch)
    with pytest.raises(CIFARDataError) as err:
        _load(str(cifar_copy))
    path = (folder / 'train').resolve()
    message = str(err.value)
    assert message.startswith(
        f'{path} is not a valid CIFAR-100 file: {reason}')
    assert message.endswith('\n' + _expected_in(cifar_copy))


def test_missing_file_is_one_clear_error(cifar_copy: Path) -> None:
    path = cifar_copy / FOLDER / 'test'
    path.unlink()
    with pytest.raises(CIFARDataError) as err:
        _load(str(cifar_copy), split='train')
    assert str(err.value) == (f'Missing {path.resolve()} (download=False).\n'
                              + _expected_in(cifar_copy))


def test_malicious_pickle_is_refused(cifar_copy: Path,
                                     tmp_path: Path) -> None:

    class Exec:

        def __reduce__(self) -> Any:
            return exec, (f'open({str(tmp_path / "marker")!r}, "w")', )

    folder = cifar_copy / FOLDER
    batch = _raw(folder, 'test')
    batch['batch_label'] = Exec()
    _dump(folder / 'test', batch)
    with pytest.raises(CIFARDataError, match='it refers to builtins.exec, '
                       'which no CIFAR-100 file contains'):
        _load(str(cifar_copy), split='test')
    assert not (tmp_path / 'marker').exists()


def test_failed_download_names_the_cifar100_archive(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def offline(request: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(request.full_url)
        raise urllib.error.URLError('no network')

    monkeypatch.setattr(urllib.request, 'urlopen', offline)
    with pytest.raises(CIFARDataError) as err:
        LenientCIFAR100(data_root=str(tmp_path), download=True)
    assert calls[0] == URL
    assert f'and downloading {URL} into {tmp_path.resolve()} failed: ' \
        'URLError: <urlopen error no network>' in str(err.value)
    assert str(err.value).endswith(_expected_in(tmp_path, download=True))


def test_a_cifar10_folder_is_named_as_the_likely_cause(
        tiny_cifar10: str) -> None:
    with pytest.raises(CIFARDataError) as err:
        LenientCIFAR100(data_root=tiny_cifar10, download=False)
    root = Path(tiny_cifar10).resolve()
    assert f'{root} holds cifar-10-batches-py: another data set\'s files; ' \
        'use a config for that data set or the data_root of CIFAR-100.' \
        in str(err.value)
    assert str(err.value).endswith(
        'To get it, pass download=True (needs network access), or download '
        f'{URL} and extract it into {root}.')
