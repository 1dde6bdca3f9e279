"""Contracts of ``LenientCIFAR10``: same data as mmpretrain, safe loading,
clear errors, md5 leniency."""
import gc
import hashlib
import io
import os
import pickle
import shutil
import struct
import subprocess
import sys
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any, Callable, Dict

import numpy as np
import pytest

import razor_wrn  # noqa: F401  (compat shim before anything mmrazor)
from mmengine.dataset import BaseDataset
from mmpretrain.datasets import CIFAR10
from mmpretrain.datasets.categories import CIFAR10_CATEGORIES
from mmpretrain.registry import DATASETS
from razor_wrn.datasets import (CIFARChecksumWarning, CIFARDataError,
                                LenientCIFAR10)

URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz'
TRAIN_FILES = [f'data_batch_{k}' for k in range(1, 6)]


class _NoMd5CIFAR10(CIFAR10):
    """mmpretrain's own CIFAR10 with md5 checks off: the reference loader."""
    train_list = [[name, None] for name in TRAIN_FILES]
    test_list = [['test_batch', None]]


def _load(data_root: str, **kwargs: Any) -> LenientCIFAR10:
    """Build the dataset, ignoring the expected md5 warning of tiny data.

    ``serialize_data=False`` keeps the data list (``get_data_info`` reads
    it); it does not change what is loaded.
    """
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', CIFARChecksumWarning)
        return LenientCIFAR10(
            data_root=data_root,
            download=False,
            serialize_data=False,
            **kwargs)


def _raw(folder: Path, name: str) -> dict:
    with open(folder / name, 'rb') as f:
        return pickle.load(f)


def _dump(path: Path, obj: Any, protocol: int = pickle.DEFAULT_PROTOCOL):
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=protocol)


@pytest.fixture
def cifar_copy(tiny_cifar10: str, tmp_path: Path) -> Path:
    """A private, writable copy of the tiny data; returns its data_root."""
    shutil.copytree(tiny_cifar10, tmp_path / 'data', dirs_exist_ok=True)
    return tmp_path / 'data'


def test_registered_in_mmpretrain() -> None:
    assert DATASETS.get('LenientCIFAR10') is LenientCIFAR10
    assert DATASETS.get('CIFAR10') is CIFAR10


@pytest.mark.parametrize('split,length', [('train', 80), ('test', 40)])
def test_tiny_split_loads(tiny_cifar10: str, split: str, length: int) -> None:
    dataset = _load(tiny_cifar10, split=split)
    labels = [dataset.get_data_info(i)['gt_label'] for i in range(length)]
    assert len(dataset) == length
    assert labels == [i % 10 for i in range(length)]
    assert np.bincount(labels).tolist() == [length // 10] * 10
    assert dataset.CLASSES == CIFAR10_CATEGORIES
    img = dataset.get_data_info(length - 1)['img']
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8


def test_pixels_are_hwc_of_the_chw_rows(tiny_cifar10: str) -> None:
    # Image 17 is row 1 of data_batch_2 (16 images per batch).
    row = _raw(Path(tiny_cifar10) / 'cifar-10-batches-py',
               'data_batch_2')['data'][1]
    img = _load(tiny_cifar10).get_data_info(17)['img']
    for h, w, c in [(0, 0, 0), (5, 31, 1), (31, 7, 2)]:
        assert img[h, w, c] == row[c * 1024 + h * 32 + w]


@pytest.mark.parametrize('split', ['train', 'test'])
def test_same_data_as_mmpretrain_cifar10(tiny_cifar10: str,
                                         split: str) -> None:
    ours = _load(tiny_cifar10, split=split)
    reference = _NoMd5CIFAR10(
        data_root=tiny_cifar10, split=split, download=False)
    assert len(ours) == len(reference)
    assert ours.metainfo == reference.metainfo
    for i in range(len(ours)):
        a, b = ours.get_data_info(i), reference.get_data_info(i)
        assert a.keys() == b.keys()
        assert a['gt_label'] == b['gt_label']
        np.testing.assert_array_equal(a['img'], b['img'])


def test_serialized_like_mmengine_without_a_garbage_collection(
        tiny_cifar10: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # mmengine's own serialization is the reference, byte for byte.
    ours, reference = (_load(tiny_cifar10) for _ in range(2))
    expected = BaseDataset._serialize_data(reference)
    monkeypatch.setattr(gc, 'collect', lambda *args: pytest.fail(
        'a full garbage collection per data set built'))
    data_bytes, ends = ours._serialize_data()
    np.testing.assert_array_equal(data_bytes, expected[0])
    np.testing.assert_array_equal(ends, expected[1])
    assert ends.dtype == np.int64 and ours.data_list == []


class _Python2Pickler(pickle._Pickler):
    """Pickles like Python 2's cPickle wrote the official files: protocol 2,
    ``str`` (here ``bytes``) as BINSTRING, numpy under ``numpy.core``."""
    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack('<i', len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str

    def save_global(self, obj: Any, name: Any = None) -> None:
        module = 'numpy.core.multiarray' if obj.__name__ == '_reconstruct' \
            else obj.__module__
        self.write(pickle.GLOBAL + f'{module}\n{obj.__name__}\n'.encode())
        self.memoize(obj)


def test_python2_pickled_batch_loads(cifar_copy: Path) -> None:
    folder = cifar_copy / 'cifar-10-batches-py'
    batch = _raw(folder, 'data_batch_1')
    py2 = {
        b'batch_label': batch['batch_label'].encode(),
        b'labels': batch['labels'],
        b'data': batch['data'],
        b'filenames': [n.encode() for n in batch['filenames']],
    }
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(py2)
    raw = buffer.getvalue()
    # The opcodes of the official files, so this is not a Python 3 pickle.
    assert raw.startswith(b'\x80\x02}')
    assert b'cnumpy.core.multiarray\n_reconstruct\n' in raw
    assert b'U\x04data' in raw
    (folder / 'data_batch_1').write_bytes(raw)

    dataset = _load(str(cifar_copy))
    assert len(dataset) == 80
    assert [dataset.get_data_info(i)['gt_label'] for i in range(16)] == \
        batch['labels']
    np.testing.assert_array_equal(
        dataset.get_data_info(3)['img'],
        batch['data'][3].reshape(3, 32, 32).transpose(1, 2, 0))


@pytest.mark.parametrize('protocol', [2, 3, 4, 5])
def test_every_pickle_protocol_loads(cifar_copy: Path, protocol: int) -> None:
    folder = cifar_copy / 'cifar-10-batches-py'
    batch = _raw(folder, 'test_batch')
    # numpy labels add multiarray.scalar; protocol 5 adds _frombuffer.
    batch['labels'] = [np.int64(y) for y in batch['labels']]
    _dump(folder / 'test_batch', batch, protocol)
    dataset = _load(str(cifar_copy), split='test')
    assert [dataset.get_data_info(i)['gt_label'] for i in range(40)] == \
        [i % 10 for i in range(40)]
    np.testing.assert_array_equal(
        dataset.get_data_info(39)['img'],
        batch['data'][39].reshape(3, 32, 32).transpose(1, 2, 0))


def test_bytes_keys_load(cifar_copy: Path) -> None:
    # What pickle.load(..., encoding='bytes') gives and someone re-dumps.
    folder = cifar_copy / 'cifar-10-batches-py'
    batch = _raw(folder, 'test_batch')
    _dump(folder / 'test_batch', {k.encode(): v for k, v in batch.items()})
    assert len(_load(str(cifar_copy), split='test')) == 40


def test_md5_mismatch_warns_and_names_files(tiny_cifar10: str) -> None:
    folder = os.path.join(tiny_cifar10, 'cifar-10-batches-py')
    with pytest.warns(CIFARChecksumWarning) as record:
        dataset = LenientCIFAR10(data_root=tiny_cifar10, download=False)
    assert len(dataset) == 80
    assert len(record) == 1
    # Every differing file of the folder, whichever split is loaded.
    message = str(record[0].message)
    assert message.startswith(
        'LenientCIFAR10: data_batch_1, data_batch_2, data_batch_3, '
        f'data_batch_4, data_batch_5, test_batch, batches.meta in {folder} '
        'differ from the official CIFAR-10 release (md5 mismatch)')


def test_md5_mismatch_is_shown_once_for_both_splits(
        tiny_cifar10: str) -> None:
    # Python's default filter, as a run has it: the train and the test
    # loader of one folder give the same message, shown once.
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('default')
        LenientCIFAR10(data_root=tiny_cifar10, download=False)
        LenientCIFAR10(data_root=tiny_cifar10, split='test', download=False)
        LenientCIFAR10(data_root=tiny_cifar10, download=False)
    assert [type(r.message) for r in record] == [CIFARChecksumWarning]
    assert 'data_batch_5, test_batch' in str(record[0].message)


def test_md5_mismatch_is_shown_once_when_filters_change(
        tiny_cifar10: str) -> None:
    # Each run of tools/reproduce.py --jobs 1 changes the warning filters,
    # which resets Python's once-per-location registry: the warning still
    # comes once per folder and process, not once per run.
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('default')
        LenientCIFAR10(data_root=tiny_cifar10, download=False)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
        warnings.simplefilter('default')
        LenientCIFAR10(data_root=tiny_cifar10, split='test', download=False)
    assert [type(r.message) for r in record] == [CIFARChecksumWarning]


def test_matching_md5_does_not_warn(tiny_cifar10: str) -> None:
    folder = Path(tiny_cifar10) / 'cifar-10-batches-py'

    def md5(name: str) -> str:
        return hashlib.md5((folder / name).read_bytes()).hexdigest()

    class TinyOfficial(LenientCIFAR10):
        """The tiny files declared official, as the real ones are."""
        train_list = [[name, md5(name)] for name in TRAIN_FILES]
        test_list = [['test_batch', md5('test_batch')]]

    with warnings.catch_warnings():
        warnings.simplefilter('error', CIFARChecksumWarning)
        assert len(TinyOfficial(data_root=tiny_cifar10, download=False)) == 80


def test_class_names_from_batches_meta(cifar_copy: Path) -> None:
    folder = cifar_copy / 'cifar-10-batches-py'
    meta = _raw(folder, 'batches.meta')
    meta['label_names'] = [f'c{i}' for i in range(10)]
    _dump(folder / 'batches.meta', meta)
    dataset = _load(str(cifar_copy), metainfo=dict(classes=None))
    assert dataset.CLASSES == tuple(f'c{i}' for i in range(10))


def _assert_clear_error(err: pytest.ExceptionInfo, data_root: Path,
                        *fragments: str, download: bool = False) -> None:
    """The message says what is wrong, where data goes and how to get it
    (with ``download=True`` already set: how to without network access)."""
    folder = str(data_root.resolve() / 'cifar-10-batches-py')
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message
    assert f'CIFAR-10 is expected in {folder} as the official python ' \
        'version' in message
    where = f'extract it into {data_root.resolve()}.'
    assert message.endswith(
        f'Without network access, download {URL} elsewhere and {where}'
        if download else 'To get it, pass download=True (needs network '
        f'access), or download {URL} and {where}')


def _set(key: str, value: Any) -> Callable[[Dict], Any]:
    def edit(batch: Dict) -> Dict:
        batch[key] = value
        return batch

    return edit


def _drop(key: str) -> Callable[[Dict], Any]:
    def edit(batch: Dict) -> Dict:
        del batch[key]
        return batch

    return edit


BAD_DATA = "'data' must be a uint8 array of shape (N, 3072), got "
# case: (edit of data_batch_3, reason the error must give)
BROKEN_BATCHES = {
    'not a dict': (lambda b: list(b.items()), 'it holds a list, not a dict'),
    'no labels': (_drop('labels'), "keys ['labels'] are missing"),
    'no data': (_drop('data'), "keys ['data'] are missing"),
    'float data': (lambda b: _set('data', b['data'].astype(np.float32))(b),
                   f'{BAD_DATA}a float32 array of shape (16, 3072)'),
    'image-shaped data':
    (lambda b: _set('data', b['data'].reshape(16, 3, 32, 32))(b),
     f'{BAD_DATA}a uint8 array of shape (16, 3, 32, 32)'),
    'short rows': (lambda b: _set('data', b['data'][:, :3000])(b),
                   f'{BAD_DATA}a uint8 array of shape (16, 3000)'),
    'too few labels': (lambda b: _set('labels', b['labels'][:15])(b),
                       'it has 15 labels for 16 images'),
    'label 10': (lambda b: _set('labels', [10] + b['labels'][1:])(b),
                 'labels [10] are outside 0..9'),
    'label -1': (lambda b: _set('labels', [-1, 12] + b['labels'][2:])(b),
                 'labels [-1, 12] are outside 0..9'),
    'float labels': (lambda b: _set('labels', [float(y)
                                               for y in b['labels']])(b),
                     "'labels' must be a list of integers"),
}


@pytest.mark.parametrize('case', list(BROKEN_BATCHES))
def test_broken_batch_is_one_clear_error(cifar_copy: Path, case: str) -> None:
    edit, reason = BROKEN_BATCHES[case]
    folder = cifar_copy / 'cifar-10-batches-py'
    _dump(folder / 'data_batch_3', edit(_raw(folder, 'data_batch_3')))
    with pytest.raises(CIFARDataError) as err:
        _load(str(cifar_copy))
    path = folder.resolve() / 'data_batch_3'
    _assert_clear_error(err, cifar_copy,
                        f'{path} is not a valid CIFAR-10 file: {reason}')


def test_truncated_pickle_is_one_clear_error(cifar_copy: Path) -> None:
    path = cifar_copy / 'cifar-10-batches-py' / 'test_batch'
    raw = path.read_bytes()
    path.write_bytes(raw[:len(raw) // 2])
    with pytest.raises(CIFARDataError) as err:
        _load(str(cifar_copy), split='test')
    _assert_clear_error(
        err, cifar_copy, f'{path.resolve()} is not a valid CIFAR-10 file: it '
        'is not a readable pickle (UnpicklingError: pickle data was '
        'truncated)')


def test_missing_file_is_one_clear_error(cifar_copy: Path) -> None:
    # mmpretrain requires both splits, so a missing test file stops 'train'.
    path = cifar_copy / 'cifar-10-batches-py' / 'test_batch'
    path.unlink()
    with pytest.raises(CIFARDataError) as err:
        _load(str(cifar_copy), split='train')
    _assert_clear_error(err, cifar_copy,
                        f'Missing {path.resolve()} (download=False).')


def test_failed_download_is_one_clear_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def offline(request: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(request.full_url)
        raise urllib.error.URLError('no network')

    monkeypatch.setattr(urllib.request, 'urlopen', offline)
    with pytest.raises(CIFARDataError) as err:
        LenientCIFAR10(data_root=str(tmp_path), download=True)
    # mmpretrain retries over http; both failures end in our error.
    assert calls == [URL, URL.replace('https:', 'http:')]
    folder = tmp_path.resolve() / 'cifar-10-batches-py'
    _assert_clear_error(
        err, tmp_path, f'Missing {folder}/data_batch_1, ',
        f'and downloading {URL} into {tmp_path.resolve()} failed: '
        'URLError: <urlopen error no network>', download=True)
    assert err.value.__suppress_context__


def test_failed_download_removes_the_folders_it_created(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(request: Any, *args: Any, **kwargs: Any) -> None:
        raise urllib.error.URLError('no network')

    monkeypatch.setattr(urllib.request, 'urlopen', offline)
    # A mistyped root: the download created it and the folder above it.
    with pytest.raises(CIFARDataError, match='downloading'):
        LenientCIFAR10(data_root=str(tmp_path / 'data' / 'cifra10'),
                       download=True)
    assert list(tmp_path.iterdir()) == []
    # A root that existed stays, empty as it was.
    (tmp_path / 'cifar10').mkdir()
    with pytest.raises(CIFARDataError, match='downloading'):
        LenientCIFAR10(data_root=str(tmp_path / 'cifar10'), download=True)
    assert [p.name for p in tmp_path.iterdir()] == ['cifar10']
    assert list((tmp_path / 'cifar10').iterdir()) == []


class _Exec:
    """Payload whose unpickling runs Python code (writes ``marker``)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return exec, (f'open({str(self.marker)!r}, "w").close()', )


class _System:
    """Payload whose unpickling runs a shell command (touches ``marker``)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return os.system, (f'touch {self.marker}', )


@pytest.mark.parametrize('payload,refused', [(_Exec, 'builtins.exec'),
                                             (_System, 'posix.system')])
@pytest.mark.parametrize('file_name', ['data_batch_1', 'batches.meta'])
def test_malicious_pickle_is_refused(cifar_copy: Path, tmp_path: Path,
                                     payload: type, refused: str,
                                     file_name: str) -> None:
    folder = cifar_copy / 'cifar-10-batches-py'
    entry = _raw(folder, file_name)
    # Hidden in a field the loader never uses, next to valid data.
    entry['batch_label'] = payload(tmp_path / 'control')
    assert not (tmp_path / 'control').exists()
    pickle.loads(pickle.dumps(entry))  # plain pickle does run it
    assert (tmp_path / 'control').exists()

    marker = tmp_path / 'marker'
    entry['batch_label'] = payload(marker)
    _dump(folder / file_name, entry)
    with pytest.raises(CIFARDataError) as err:
        # metainfo without classes makes the loader read batches.meta.
        _load(str(cifar_copy), metainfo=dict(classes=None))
    assert not marker.exists()
    _assert_clear_error(
        err, cifar_copy, f'{(folder / file_name).resolve()} is not a valid '
        f'CIFAR-10 file: it refers to {refused}, which no CIFAR-10 file '
        'contains; refused so that loading never runs code from a data file')


def _shared_tool() -> Path:
    """The JPEG re-encoding tool: ``$CIFAR10_JPEG_TOOL``, else
    ``shared/tools/cifar10_from_jpeg.py`` beside the repository."""
    repo = Path(__file__).resolve().parents[2]
    tool = Path(os.environ.get(
        'CIFAR10_JPEG_TOOL',
        repo.parent / 'shared' / 'tools' / 'cifar10_from_jpeg.py'))
    if not tool.is_file():
        pytest.skip(f'no CIFAR-10 JPEG tool at {tool} (set CIFAR10_JPEG_TOOL '
                    'to its path)')
    return tool


def test_jpeg_copy_from_shared_tool_loads(tmp_path: Path) -> None:
    tool = _shared_tool()
    pytest.importorskip('PIL', reason='the shared tool needs pillow')
    subprocess.run([
        sys.executable,
        str(tool),
        str(tmp_path), '--per-class-train', '2', '--per-class-test', '1'
    ],
                   check=True,
                   capture_output=True)
    with pytest.warns(CIFARChecksumWarning, match='data_batch_5'):
        train = LenientCIFAR10(data_root=str(tmp_path), download=False)
    test = _load(str(tmp_path), split='test')
    train_labels = [train.get_data_info(i)['gt_label'] for i in range(20)]
    test_labels = [test.get_data_info(i)['gt_label'] for i in range(10)]
    assert (len(train), len(test)) == (20, 10)
    assert np.bincount(train_labels).tolist() == [2] * 10
    assert sorted(test_labels) == list(range(10))
    assert train.get_data_info(0)['img'].shape == (32, 32, 3)
