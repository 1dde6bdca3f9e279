"""CIFAR-10 that accepts faithful re-encoded copies and never runs data code.

mmpretrain's :class:`~mmpretrain.datasets.CIFAR10` treats any md5 mismatch as
"not downloaded" (it then re-downloads or refuses), reads the batches with a
plain ``pickle.loads`` (a crafted file runs arbitrary code), and reports a
missing or broken file as an ``AssertionError`` or ``KeyError`` that does not
say which file or how to get it. :class:`LenientCIFAR10` keeps everything
else (arguments, class names, download, split and ``test_mode`` handling) and
replaces only the loading:

* files are unpickled by :class:`_CIFARUnpickler`, which resolves nothing but
  the numpy array constructors a CIFAR batch needs;
* each batch is checked (keys, ``uint8`` ``(N, 3072)`` data, one label in
  ``0..9`` per image) and any problem raises :class:`CIFAR10DataError`, which
  names the file, the folder it is expected in and how to obtain it;
* an md5 that differs from the official release only warns
  (:class:`CIFAR10ChecksumWarning`) when the structure is valid.

Config example::

    train_dataloader = dict(dataset=dict(
        type='LenientCIFAR10', data_root='data/cifar10', split='train',
        download=True, pipeline=[...]))
"""
import hashlib
import os.path as osp
import pickle
import warnings
from io import BytesIO
from typing import Any, Dict, List, Optional, Tuple

import mmengine.dist as dist
import numpy as np
from mmengine.fileio import (LocalBackend, exists, get, get_file_backend,
                             join_path)
from mmpretrain.datasets import CIFAR10
from mmpretrain.datasets.utils import download_and_extract_archive
from mmpretrain.registry import DATASETS

try:  # numpy >= 2 moved its core; pickles name either location.
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _multiarray
    from numpy.core import numeric as _numeric


class CIFAR10DataError(RuntimeError):
    """A CIFAR-10 file is missing, unreadable or not a CIFAR-10 batch.

    A ``RuntimeError`` so that code catching mmpretrain's own dataset errors
    keeps working.
    """


class CIFAR10ChecksumWarning(UserWarning):
    """Valid CIFAR-10 files whose md5 differs from the official release."""


class _RefusedGlobal(pickle.UnpicklingError):
    """A pickle asked for a global outside :data:`_ALLOWED_GLOBALS`."""


def _latin1_encode(text: str, encoding: str = 'latin1') -> bytes:
    """Stand-in for ``_codecs.encode`` restricted to what pickle writes.

    Python 3 stores ``bytes`` at protocol 2 as ``_codecs.encode(text,
    'latin1')``; any other codec is not something a CIFAR file needs.
    """
    if encoding != 'latin1':
        raise _RefusedGlobal(f'_codecs.encode with encoding {encoding!r}')
    return text.encode('latin1')


def _allowed_globals() -> Dict[Tuple[str, str], Any]:
    """Map the (module, name) pairs CIFAR pickles contain to objects.

    The official files (Python 2, protocol 2) name
    ``numpy.core.multiarray._reconstruct``, ``numpy.ndarray`` and
    ``numpy.dtype``; numpy 2 writes ``numpy._core`` instead, protocol 5 writes
    ``numpy._core.numeric._frombuffer``, and copies whose labels are numpy
    integers add ``multiarray.scalar``. The objects are bound here, so a
    pickle never makes the loader import a module.
    """
    allowed: Dict[Tuple[str, str], Any] = {
        ('numpy', 'ndarray'): np.ndarray,
        ('numpy', 'dtype'): np.dtype,
        ('_codecs', 'encode'): _latin1_encode,
    }
    for core in ('numpy.core', 'numpy._core'):
        allowed[(f'{core}.multiarray', '_reconstruct')] = \
            _multiarray._reconstruct
        allowed[(f'{core}.multiarray', 'scalar')] = _multiarray.scalar
        allowed[(f'{core}.numeric', '_frombuffer')] = _numeric._frombuffer
    return allowed


_ALLOWED_GLOBALS = _allowed_globals()


class _CIFARUnpickler(pickle.Unpickler):
    """Unpickler that resolves only :data:`_ALLOWED_GLOBALS`.

    Every way a pickle can reach a callable (GLOBAL, STACK_GLOBAL, INST, OBJ
    and the copyreg EXT opcodes) goes through :meth:`find_class`, so refusing
    everything else there means a data file cannot run code.
    """

    def find_class(self, module: str, name: str) -> Any:
        """Return the allowed object for ``module.name`` or refuse it."""
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise _RefusedGlobal(f'{module}.{name}') from None


def _describe(value: Any) -> str:
    """Short description of a value for error messages."""
    if isinstance(value, np.ndarray):
        return f'a {value.dtype} array of shape {value.shape}'
    return f'a {type(value).__name__}'


@DATASETS.register_module()
class LenientCIFAR10(CIFAR10):
    """mmpretrain's CIFAR-10 with safe, checked and md5-lenient loading.

    Takes exactly the arguments of :class:`mmpretrain.datasets.CIFAR10` and
    returns the same data list for the official files. Files whose md5
    differs from the official release load with a
    :class:`CIFAR10ChecksumWarning` if their structure is valid; missing,
    broken or code-carrying files raise :class:`CIFAR10DataError`.
    ``download=True`` fetches the archive only when a file is missing.

    Args:
        data_root (str): Directory that contains (or will contain)
            ``cifar-10-batches-py``.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        metainfo (dict, optional): Meta information, e.g. ``classes``.
            Defaults to None (mmpretrain's CIFAR-10 class names).
        download (bool): Download and extract the official archive when a
            file is missing. Defaults to True.
        data_prefix (str): Folder under ``data_root`` holding
            ``cifar-10-batches-py``. Defaults to ''.
        test_mode (bool): Passed to :class:`BaseDataset`. Defaults to False.
        **kwargs: Other keyword arguments of :class:`BaseDataset`.
    """

    label_key = 'labels'
    num_classes = 10

    def load_data_list(self) -> List[dict]:
        """Load images (HWC ``uint8``) and labels of ``self.split``."""
        if dist.is_main_process() and self._missing_files():
            self._fetch_missing()
        # Other ranks wait for rank 0's download, as in mmpretrain.
        dist.barrier()
        missing = self._missing_files()
        if missing:
            raise self._data_error(f'Missing {", ".join(missing)}.')

        file_list = self.train_list if self.split == 'train' else \
            self.test_list
        imgs, gt_labels, mismatched = [], [], []
        for file_name, md5 in file_list:
            entry, md5_ok = self._read_pickle(file_name, md5)
            data, labels = self._check_batch(entry, file_name)
            imgs.append(data)
            gt_labels.extend(labels)
            if not md5_ok:
                mismatched.append(file_name)
        self._warn_md5(mismatched)

        imgs = np.vstack(imgs).reshape(-1, 3, 32, 32)
        imgs = imgs.transpose((0, 2, 3, 1))  # CHW rows -> HWC images

        if self.CLASSES is None:
            self._load_meta()
        return [{'img': img, 'gt_label': label}
                for img, label in zip(imgs, gt_labels)]

    def _load_meta(self) -> None:
        """Read class names from ``batches.meta`` (only if none are set)."""
        file_name, key = self.meta['filename'], self.meta['key']
        if not exists(self._path(file_name)):
            raise self._data_error(f'Missing {self._path(file_name)}.')
        entry, md5_ok = self._read_pickle(file_name, self.meta.get('md5'))
        names = entry.get(key) if isinstance(entry, dict) else None
        if not (isinstance(names, (list, tuple))
                and len(names) == self.num_classes
                and all(isinstance(n, str) for n in names)):
            raise self._broken(
                file_name, f'{key!r} must be a list of {self.num_classes} '
                f'class names, got {_describe(names)}')
        if not md5_ok:
            self._warn_md5([file_name])
        # mmpretrain uses setdefault, a no-op here: this only runs when
        # 'classes' is present but None.
        self._metainfo['classes'] = tuple(names)

    def _folder(self) -> str:
        """The ``cifar-10-batches-py`` folder, absolute when local."""
        folder = join_path(self.data_prefix['root'], self.base_folder)
        if isinstance(get_file_backend(folder), LocalBackend):
            folder = osp.abspath(folder)
        return folder

    def _path(self, file_name: str) -> str:
        """Path of ``file_name`` inside :meth:`_folder`."""
        return join_path(self._folder(), file_name)

    def _missing_files(self) -> List[str]:
        """Full paths of the batch files that do not exist.

        Both splits are required, as in mmpretrain's integrity check, so a
        half-extracted archive is noticed whichever split is built first.
        """
        return [
            self._path(name) for name, _ in self.train_list + self.test_list
            if not exists(self._path(name))
        ]

    def _fetch_missing(self) -> None:
        """Download the official archive, or explain why that cannot be."""
        root = self.data_prefix['root']
        missing = ', '.join(self._missing_files())
        if not isinstance(get_file_backend(root), LocalBackend):
            raise self._data_error(
                f'Missing {missing}; download=True only works on local '
                'storage.')
        if not self.download:
            raise self._data_error(f'Missing {missing} (download=False).')
        try:
            download_and_extract_archive(
                self.url, root, filename=self.filename, md5=self.tgz_md5)
        except Exception as err:
            # URLError, OSError, a bad archive md5 (RuntimeError) or a tar
            # error all mean the same to the user; the cause goes into the
            # message instead of a urllib traceback.
            raise self._data_error(
                f'Missing {missing}, and downloading {self.url} into '
                f'{osp.abspath(root)} failed: {type(err).__name__}: {err}'
            ) from None

    def _read_pickle(self, file_name: str,
                     md5: Optional[str]) -> Tuple[Any, bool]:
        """Unpickle ``file_name`` safely; return it and whether md5 matches.

        ``md5=None`` (no official checksum) counts as a match.
        """
        try:
            raw = get(self._path(file_name))
        except OSError as err:
            raise self._broken(file_name, f'it cannot be read ({err})') \
                from None
        md5_ok = md5 is None or hashlib.md5(raw).hexdigest() == md5
        try:
            entry = _CIFARUnpickler(BytesIO(raw), encoding='latin1').load()
        except _RefusedGlobal as err:
            raise self._broken(
                file_name, f'it refers to {err}, which no CIFAR-10 file '
                'contains; refused so that loading never runs code from a '
                'data file') from None
        except Exception as err:
            # Truncated or garbled pickles fail with EOFError,
            # UnpicklingError, ValueError, ... depending on where they break.
            raise self._broken(
                file_name, f'it is not a readable pickle '
                f'({type(err).__name__}: {err})') from None
        if isinstance(entry, dict):
            # Dumps of pickle.load(..., encoding='bytes') have bytes keys.
            entry = {
                k.decode('latin1') if isinstance(k, bytes) else k: v
                for k, v in entry.items()
            }
        return entry, md5_ok

    def _check_batch(self, entry: Any,
                     file_name: str) -> Tuple[np.ndarray, List[int]]:
        """Return ``(data, labels)`` of a batch after checking its structure.

        Args:
            entry (Any): The unpickled file.
            file_name (str): Its name, for error messages.

        Returns:
            tuple: ``uint8`` data of shape ``(N, 3072)`` and ``N`` int labels.
        """
        if not isinstance(entry, dict):
            raise self._broken(file_name,
                               f'it holds {_describe(entry)}, not a dict')
        absent = [k for k in ('data', self.label_key) if k not in entry]
        if absent:
            raise self._broken(
                file_name, f'keys {absent} are missing (it has '
                f'{sorted(map(str, entry))})')
        data, labels = entry['data'], entry[self.label_key]
        if not (isinstance(data, np.ndarray) and data.dtype == np.uint8
                and data.ndim == 2 and data.shape[1] == 3 * 32 * 32):
            raise self._broken(
                file_name, "'data' must be a uint8 array of shape (N, 3072), "
                f'got {_describe(data)}')
        if isinstance(labels, np.ndarray) and labels.ndim == 1:
            labels = labels.tolist()
        if not (isinstance(labels, (list, tuple)) and all(
                isinstance(y, (int, np.integer)) and not isinstance(y, bool)
                for y in labels)):
            raise self._broken(
                file_name, f'{self.label_key!r} must be a list of integers, '
                f'got {_describe(labels)}')
        if len(labels) != len(data):
            raise self._broken(
                file_name,
                f'it has {len(labels)} labels for {len(data)} images')
        labels = [int(y) for y in labels]
        outside = sorted({y for y in labels if not 0 <= y < self.num_classes})
        if outside:
            raise self._broken(
                file_name, f'labels {outside[:5]} are outside '
                f'0..{self.num_classes - 1}')
        return data, labels

    def _warn_md5(self, file_names: List[str]) -> None:
        """Warn once for the files whose md5 is not the official one."""
        if file_names:
            warnings.warn(
                f'{self.__class__.__name__}: {", ".join(file_names)} in '
                f'{self._folder()} differ from the official CIFAR-10 release '
                '(md5 mismatch); loading them because their structure is '
                'valid. Results on this copy are not comparable with '
                'published CIFAR-10 numbers.',
                CIFAR10ChecksumWarning)

    def _broken(self, file_name: str, reason: str) -> CIFAR10DataError:
        """Error for a file that exists but is not a CIFAR-10 file."""
        return self._data_error(
            f'{self._path(file_name)} is not a valid CIFAR-10 file: '
            f'{reason}. Delete it (download=True only fetches missing '
            'files) and get the official one as below.')

    def _data_error(self, problem: str) -> CIFAR10DataError:
        """Error stating ``problem``, where data belongs and how to get it."""
        folder = self._folder()
        return CIFAR10DataError(
            f'{problem}\nCIFAR-10 is expected in {folder} as the official '
            'python version (data_batch_1..data_batch_5, test_batch, '
            'batches.meta). To get it, pass download=True (needs network '
            f'access), or download {self.url} and extract it into '
            f'{osp.dirname(folder)}.')
