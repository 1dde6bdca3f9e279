"""Loading of mmpretrain's CIFAR datasets that is safe, checked and lenient.

mmpretrain's :class:`~mmpretrain.datasets.CIFAR10` (and its subclass
``CIFAR100``) treats any md5 mismatch as "not downloaded" (it then
re-downloads or refuses), reads the files with a plain ``pickle.loads`` (a
crafted file runs arbitrary code), and reports a missing or broken file as an
``AssertionError`` or ``KeyError`` that does not say which file or how to get
it. :class:`LenientCIFARMixin`, put before one of them, keeps everything else
(arguments, class names, file lists, download, split and ``test_mode``
handling) and replaces only the loading:

* files are unpickled by :func:`~.safe_pickle.load_numpy_pickle`;
* each file is checked (keys, ``uint8`` ``(N, 3072)`` data, one label in
  ``0..num_classes-1`` per image) and any problem raises
  :class:`CIFARDataError`, which names the data set, the file, the folder it
  is expected in and how to obtain it;
* an md5 that differs from the official release only warns
  (:class:`CIFARChecksumWarning`, once per folder and process, also when
  warning filters change in between, naming every differing file of the
  folder) when the structure is valid.
"""
import hashlib
import os
import os.path as osp
import pickle
import shutil
import warnings
from typing import Any, Dict, List, Optional, Set, Tuple

import mmengine.dist as dist
import numpy as np
from mmengine.fileio import (LocalBackend, exists, get, get_file_backend,
                             join_path)
from mmpretrain.datasets.utils import download_and_extract_archive

from ..created_folders import missing_folders, remove_empty_folders
from ..errors import CIFARDataError
from .safe_pickle import RefusedGlobal, load_numpy_pickle


class CIFARChecksumWarning(UserWarning):
    """Valid CIFAR files whose md5 differs from the official release."""


# md5 by (path, size, mtime in ns): each split's loader reports the files
# of both splits without reading a file twice.
_MD5_CACHE: Dict[Tuple[str, int, int], str] = {}

# The folders this process has warned about. Python's own once-per-location
# registry is not enough: it is reset whenever a warning filter changes, as
# each run of tools/reproduce.py --jobs 1 does, which showed the warning
# again for every row.
_WARNED_FOLDERS: Set[str] = set()


def _describe(value: Any) -> str:
    """Short description of a value for error messages."""
    if isinstance(value, np.ndarray):
        return f'a {value.dtype} array of shape {value.shape}'
    return f'a {type(value).__name__}'


class LenientCIFARMixin:
    """Safe, checked, md5-lenient ``load_data_list`` for mmpretrain's CIFARs.

    Use as the first base of a subclass of mmpretrain's ``CIFAR10`` family,
    whose ``base_folder``, ``url``, ``train_list``, ``test_list``, ``meta``
    and ``METAINFO`` it reads; the subclass sets only:

    Attributes:
        dataset_name (str): The data set's name in messages, e.g.
            ``'CIFAR-10'``.
        label_key (str): Key of the label list in each file, e.g.
            ``'labels'``.

    Labels must lie in ``0..len(METAINFO['classes']) - 1``.
    ``download=True`` fetches the archive only when a file is missing.
    """

    dataset_name: str
    label_key: str

    def load_data_list(self) -> List[dict]:
        """Load images (HWC ``uint8``) and labels of ``self.split``.

        Raises:
            CIFARDataError: A file is missing and cannot be downloaded, or
                a file is unreadable, refers to code, or is malformed.
        """
        if dist.is_main_process() and self._missing_files():
            self._fetch_missing()
        # Other ranks wait for rank 0's download, as in mmpretrain.
        dist.barrier()
        missing = self._missing_files()
        if missing:
            raise self._data_error(f'Missing {", ".join(missing)}.')

        file_list = self.train_list if self.split == 'train' else \
            self.test_list
        imgs, gt_labels, md5_ok = [], [], True
        for file_name, md5 in file_list:
            entry, file_md5_ok = self._read_pickle(file_name, md5)
            data, labels = self._check_batch(entry, file_name)
            imgs.append(data)
            gt_labels.extend(labels)
            md5_ok &= file_md5_ok
        if not md5_ok:
            self._warn_md5()

        imgs = np.vstack(imgs).reshape(-1, 3, 32, 32)
        imgs = imgs.transpose((0, 2, 3, 1))  # CHW rows -> HWC images

        if self.CLASSES is None:
            self._load_meta()
        return [{'img': img, 'gt_label': label}
                for img, label in zip(imgs, gt_labels)]

    def _serialize_data(self) -> Tuple[np.ndarray, np.ndarray]:
        """mmengine's serialization (one pickled sample after another and
        their end offsets), also for an empty subset, without its
        ``gc.collect()``.

        mmengine concatenates the serialized samples, which raises a bare
        ValueError on none; an empty training set is instead reported before
        the first epoch by ``TrainDataCheckHook``, with what to change.
        mmengine then runs a full garbage collection to free the sample
        dicts; they hold arrays and no reference cycles, so clearing the
        list frees them, and the collection cost 0.1 s per data set built
        in a process that holds a model and a Runner.

        Returns:
            tuple: ``(bytes (uint8, (total,)), end offsets (int64, (N,)))``.
        """
        if not self.data_list:
            return np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.int64)
        samples = [
            np.frombuffer(pickle.dumps(sample, protocol=4), dtype=np.uint8)
            for sample in self.data_list
        ]
        ends = np.cumsum(np.asarray([len(x) for x in samples], np.int64))
        self.data_list.clear()
        return np.concatenate(samples), ends

    @property
    def num_classes(self) -> int:
        """Number of classes of the data set's official labels."""
        return len(type(self).METAINFO['classes'])

    def _load_meta(self) -> None:
        """Read class names from the meta file (only if none are set)."""
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
            self._warn_md5()
        # mmpretrain uses setdefault, a no-op here: this only runs when
        # 'classes' is present but None.
        self._metainfo['classes'] = tuple(names)

    def _folder(self) -> str:
        """The data set's folder (``base_folder``), absolute when local."""
        folder = join_path(self.data_prefix['root'], self.base_folder)
        if isinstance(get_file_backend(folder), LocalBackend):
            folder = osp.abspath(folder)
        return folder

    def _path(self, file_name: str) -> str:
        """Path of ``file_name`` inside :meth:`_folder`."""
        return join_path(self._folder(), file_name)

    def _missing_files(self) -> List[str]:
        """Full paths of the data files that do not exist.

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
        # The download creates the root (and the folders above it): a
        # mistyped root that does not exist stayed as an empty folder.
        made = missing_folders(root)
        try:
            download_and_extract_archive(
                self.url, root, filename=self.filename, md5=self.tgz_md5)
        except BaseException as err:
            self._remove_failed_download(made)
            if not isinstance(err, Exception):
                raise  # Ctrl-C: nothing to explain
            # URLError, OSError, a bad archive md5 (RuntimeError) or a tar
            # error all mean the same to the user; the cause goes into the
            # message instead of a urllib traceback.
            raise self._data_error(
                f'Missing {missing}, and downloading {self.url} into '
                f'{osp.abspath(root)} failed: {type(err).__name__}: {err}'
            ) from None

    def _remove_failed_download(self, made: List[str]) -> None:
        """Remove what a failed download left in a root it created itself:
        the archive, a half-extracted ``base_folder``, then the folders it
        created, where empty.

        Args:
            made (list[str]): The folders that did not exist before the
                download (:func:`~razor_wrn.created_folders.missing_folders`
                of the root); empty: the root existed, and nothing in it or
                above it is touched.
        """
        if not made:
            return
        # The root is the innermost of them; all it holds came from the
        # download.
        root = made[-1]
        archive = osp.join(root, self.filename)
        if osp.isfile(archive):
            os.remove(archive)
        shutil.rmtree(osp.join(root, self.base_folder), ignore_errors=True)
        remove_empty_folders(made)

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
        md5_ok = md5 is None or self._md5(file_name, raw) == md5
        try:
            return load_numpy_pickle(raw), md5_ok
        except RefusedGlobal as err:
            raise self._broken(
                file_name, f'it refers to {err}, which no '
                f'{self.dataset_name} file contains; refused so that '
                'loading never runs code from a data file') from None
        except Exception as err:
            # Truncated or garbled pickles fail with EOFError,
            # UnpicklingError, ValueError, ... depending on where they break.
            raise self._broken(
                file_name, f'it is not a readable pickle '
                f'({type(err).__name__}: {err})') from None

    def _check_batch(self, entry: Any,
                     file_name: str) -> Tuple[np.ndarray, List[int]]:
        """Return ``(data, labels)`` of a file after checking its structure.

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

    def _md5(self, file_name: str, raw: Optional[bytes] = None) -> str:
        """md5 of a file of the folder (its bytes ``raw`` when already
        read), computed once per process for a local file that has not
        changed since."""
        path = self._path(file_name)
        key = None
        if isinstance(get_file_backend(path), LocalBackend):
            stat = os.stat(path)
            key = (path, stat.st_size, stat.st_mtime_ns)
            if key in _MD5_CACHE:
                return _MD5_CACHE[key]
        digest = hashlib.md5(get(path) if raw is None else raw).hexdigest()
        if key is not None:
            _MD5_CACHE[key] = digest
        return digest

    def _warn_md5(self) -> None:
        """Warn about the files of the folder (both splits and the meta
        file) whose md5 is not the official one, once per folder and
        process.

        The folder is remembered here (:data:`_WARNED_FOLDERS`), not left
        to Python's warning registry, which forgets what it has shown
        whenever a filter changes. It stays a ``warnings.warn``, so filters
        still hide it or turn it into an error. As in Python's registry, a
        folder whose warning a filter hid counts as warned about; one whose
        warning a filter raised does not, so it raises again.
        """
        folder = self._folder()
        if folder in _WARNED_FOLDERS:
            return
        files = self.train_list + self.test_list + [
            (self.meta['filename'], self.meta.get('md5'))]
        file_names = [name for name, md5 in files if md5 and exists(
            self._path(name)) and self._md5(name) != md5]
        warnings.warn(
            f'{self.__class__.__name__}: {", ".join(file_names)} in '
            f'{folder} differ from the official '
            f'{self.dataset_name} release (md5 mismatch); loading them '
            'because their structure is valid. Results on this copy are '
            f'not comparable with published {self.dataset_name} numbers.',
            CIFARChecksumWarning)
        _WARNED_FOLDERS.add(folder)

    def _broken(self, file_name: str, reason: str) -> CIFARDataError:
        """Error for a file that exists but is not a file of the data set."""
        return self._data_error(
            f'{self._path(file_name)} is not a valid {self.dataset_name} '
            f'file: {reason}. Delete it (download=True only fetches missing '
            'files) and get the official one as below.')

    def _data_error(self, problem: str) -> CIFARDataError:
        """Error stating ``problem``, where data belongs and how to get it."""
        folder = self._folder()
        root = osp.dirname(folder)
        files = [name for name, _ in self.train_list + self.test_list]
        how = (f'Without network access, download {self.url} elsewhere and '
               f'extract it into {root}.') if self.download else (
            'To get it, pass download=True (needs network access), or '
            f'download {self.url} and extract it into {root}.')
        # A data root of the other CIFAR (a CIFAR-10 folder given to a
        # CIFAR-100 config, or the reverse) is the likely cause.
        others = sorted(
            name for name in (os.listdir(root) if osp.isdir(root) else [])
            if name.startswith('cifar-') and name != self.base_folder
            and osp.isdir(osp.join(root, name)))
        other = (f' {root} holds {", ".join(others)}: another data set\'s '
                 'files; use a config for that data set or the data_root '
                 f'of {self.dataset_name}.') if others else ''
        return CIFARDataError(
            f'{problem}\n{self.dataset_name} is expected in {folder} as the '
            f'official python version ({", ".join(files)}, '
            f'{self.meta["filename"]}).{other} {how}')
