"""Checkpoint loading that never runs code from a file.

torch >= 2.6 unpickles with ``weights_only=True``: only tensors, containers
and an allow-list of globals. mmengine 0.10.7 checkpoints also hold its
``HistoryBuffer`` (the message hub's logs) and numpy arrays and scalars, so
those plain-data types are allowed here; nothing that can execute code is.
mmengine loads ``http(s)://`` checkpoints through ``torch.hub`` with
``weights_only=False``, so both the local and the http(s) schemes of its
``CheckpointLoader`` are replaced by loaders that always pass
``weights_only=True`` and turn every failure into one readable
:class:`CheckpointError`. Importing :mod:`razor_wrn` applies both.
"""
import glob
import hashlib
import os
import os.path as osp
import pickle
import re
import shlex
import tempfile
import zipfile
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Tuple
from urllib.parse import urlparse

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import CheckpointLoader
from mmengine.runner import checkpoint as mmengine_checkpoint

from .errors import CheckpointError

try:
    import fcntl
except ImportError:  # Windows: no lock; each process's own temporary file
    fcntl = None     # still keeps concurrent downloads from colliding.


def _umask() -> int:
    """The process's umask, read without changing it where Linux shows it
    (``os.umask`` can only be read by setting it, which races with threads
    creating files)."""
    try:
        with open('/proc/self/status') as status:
            for line in status:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode(path: str) -> int:
    """The permission bits ``open(path, 'w')`` would leave ``path`` with:
    its current ones if it exists, else 0666 less the umask. Files written
    through a temporary file (``mkstemp`` makes them 0600) get these, so a
    shared work dir or cache stays readable as the umask intends."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _numpy_globals():
    """The numpy pieces of pickled arrays and scalars, under the module
    names numpy 1.x (``numpy.core``) and 2.x (``numpy._core``) write."""
    from numpy._core import multiarray
    allowed = [np.ndarray, np.dtype]
    allowed += [cls for cls in vars(np.dtypes).values()
                if isinstance(cls, type) and issubclass(cls, np.dtype)]
    for name in ('_reconstruct', 'scalar'):
        function = getattr(multiarray, name)
        allowed += [(function, f'numpy.core.multiarray.{name}'),
                    (function, f'numpy._core.multiarray.{name}')]
    return allowed


def _history_buffer_getattr(owner: Any, name: str) -> Any:
    """The ``getattr`` a pickled :class:`HistoryBuffer` may call.

    A buffer pickles its statistics methods as ``getattr(HistoryBuffer,
    'mean')``. A general ``getattr`` would let a crafted file walk from any
    allowed object to arbitrary code, so only those method lookups are
    served.
    """
    if owner is HistoryBuffer and name in ('min', 'max', 'mean', 'current'):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'Unsupported global: getattr({owner!r}, {name!r}) is not allowed')


def allow_mmengine_checkpoint_objects() -> None:
    """Let ``torch.load(weights_only=True)`` read mmengine checkpoints."""
    torch.serialization.add_safe_globals([
        HistoryBuffer,
        (_history_buffer_getattr, '__builtin__.getattr'),
        (_history_buffer_getattr, 'builtins.getattr'),
        *_numpy_globals(),
    ])


# torch.hub's convention: a file name ending in `-<first hex digits of its
# sha256>.<ext>`, as in OpenMMLab's model zoo (8 digits). At least 8 are
# required so that names like `wrn-40.pth` are not taken for a hash.
HASH_SUFFIX = re.compile(r'-([a-f0-9]{8,64})\.[^.]+$')


def file_sha256(path: str) -> str:
    """sha256 of a file's bytes, read 1 MiB at a time."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def cache_path(url: str) -> str:
    """Where :func:`download_checkpoint` keeps ``url``: torch's hub cache,
    in a folder named by a hash of the whole URL, so two URLs ending in the
    same file name never share a cached file."""
    from torch.hub import get_dir
    key = hashlib.sha256(url.encode('utf-8')).hexdigest()[:16]
    return osp.join(get_dir(), 'checkpoints', key,
                    osp.basename(urlparse(url).path))


@contextmanager
def _cache_lock(cached: str) -> Iterator[None]:
    """Hold an exclusive lock on ``<cached>.lock`` (``flock``; nothing where
    the platform has none), so that of several processes fetching the same
    URL into a shared cache one downloads and the others wait for it. In
    a cache this process cannot write to (a shared read-only copy), no lock
    is taken: nothing is written there."""
    try:
        lock = open(cached + '.lock', 'a')
    except OSError:
        lock = None
    if fcntl is None or lock is None:
        yield
        return
    with lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _hash_mismatch(url: str, path: str) -> Optional[str]:
    """The sha256 of ``path`` when the URL's file name carries a prefix of
    its hash (``name-<hash>.pth``) that it does not start with, else
    None."""
    expected = HASH_SUFFIX.search(osp.basename(urlparse(url).path))
    if not expected:
        return None
    actual = file_sha256(path)
    return None if actual.startswith(expected.group(1)) else actual


def download_checkpoint(url: str) -> str:
    """Download ``url`` once into torch's hub cache; return the local path.

    Every process of a run (and every run sharing the cache) may call this
    at once: the first to take the cache's file lock downloads, into a
    temporary file of its own, checks it and renames it into place; the
    others wait for the lock and find the file. A cached file is checked
    against the sha256 prefix in its name (``name-<hash>.pth``) each time
    it is used; a corrupt one is downloaded again.

    Raises:
        CheckpointError: the download failed, does not match its hash, or
            cannot be written into the cache.
    """
    from torch.hub import download_url_to_file
    cached = cache_path(url)
    try:
        os.makedirs(osp.dirname(cached), exist_ok=True)
    except OSError:
        pass  # a read-only cache may hold the file; else mkstemp says why
    with _cache_lock(cached):
        if osp.exists(cached) and _hash_mismatch(url, cached) is None:
            return cached
        try:
            fd, partial = tempfile.mkstemp(dir=osp.dirname(cached),
                                           prefix=osp.basename(cached) + '.',
                                           suffix='.partial')
        except OSError as error:
            raise CheckpointError(
                f'Cannot download {url} into the torch hub cache '
                f'{osp.dirname(cached)} ({error.strerror or error}): set '
                'TORCH_HOME to a folder you can write to, or download the '
                'file yourself and pass its local path instead.') from error
        os.close(fd)
        try:
            try:
                download_url_to_file(url, partial, progress=False)
            except Exception as error:
                raise CheckpointError(
                    f'Could not download checkpoint {url}: {error}. Check '
                    'the URL and your network, or download the file '
                    'yourself and pass its local path instead.') from error
            actual = _hash_mismatch(url, partial)
            if actual:
                raise CheckpointError(
                    f'The file downloaded from {url} has sha256 '
                    f'{actual[:16]}..., but its name says it starts with '
                    f'{HASH_SUFFIX.search(cached).group(1)}: the download is '
                    'corrupt or the URL is wrong. Try again, or check the '
                    'URL.')
            os.replace(partial, cached)
        finally:
            if osp.exists(partial):
                os.remove(partial)
    return cached


class UnreadableCheckpointError(CheckpointError):
    """A checkpoint file that cannot be used: :attr:`problem` says what the
    file is, with its path, :attr:`fix` what to do; the message is both.
    A caller with a fix of its own (``--resume`` naming another checkpoint)
    words its message from :attr:`problem`."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f'{problem}. {fix}')
        self.problem, self.fix = problem, fix

    def __reduce__(self) -> tuple:
        # Exceptions pickle (to another process) as cls(*args): here two.
        return type(self), (self.problem, self.fix)


# The file in a work dir naming its newest checkpoint (mmengine's name).
POINTER = 'last_checkpoint'


def checkpoint_recency(path: str) -> Tuple[int, List[int]]:
    """``(modification time in ns, the numbers in the file name)``: files
    written within one tick of the file system's clock (several ms) have
    the same time, and then ``epoch_10.pth`` is newer than ``epoch_9.pth``.
    """
    numbers = [int(n) for n in re.findall(r'\d+', osp.basename(path))]
    return os.stat(path).st_mtime_ns, numbers


def likely_checkpoint(folder: str) -> Optional[Tuple[str, str]]:
    """The checkpoint file in ``folder`` that whoever passed the folder most
    likely meant, and why: the one its :data:`POINTER` names (the copy in
    ``folder`` of a work dir copied or moved), else its newest ``*.pth``;
    None when it holds neither."""
    try:
        with open(osp.join(folder, POINTER), encoding='utf-8',
                  errors='replace') as f:
            named = f.read().strip()
    except OSError:
        named = ''
    if named:
        for candidate in (osp.join(folder, osp.basename(named)), named):
            if osp.isfile(candidate):
                return candidate, f'the one its {POINTER} names'
    files = [path for path in glob.glob(
        osp.join(glob.escape(folder), '*.pth')) if osp.isfile(path)]
    if not files:
        return None
    return max(files, key=checkpoint_recency), 'its newest'


def directory_error(path: str, given_as: str = '', option: str = '',
                    also: str = '',
                    none_fix: str = 'Pass the path of a checkpoint file.'
                    ) -> UnreadableCheckpointError:
    """The error for a directory given where a checkpoint file belongs: it
    names the file in it that was most likely meant
    (:func:`likely_checkpoint`).

    Args:
        path: The directory.
        given_as: What leads the message, e.g. ``"--resume 'DIR'"``;
            empty: the quoted path.
        option: Written before the suggested file, e.g. ``'--resume '``;
            empty: the file's path is quoted alone.
        also: Added after the suggested file, before the final period
            (another fix).
        none_fix: The fix when the directory holds no checkpoint.
    """
    given_as = given_as or repr(path)
    likely = likely_checkpoint(path)
    if likely is None:
        return UnreadableCheckpointError(
            f'{given_as} is a directory, not a checkpoint file, and holds '
            'no checkpoint (*.pth)', none_fix)
    file, why = likely
    named = f'{option}{shlex.quote(file)}' if option else repr(file)
    return UnreadableCheckpointError(
        f'{given_as} is a directory, not a checkpoint file',
        f'Pass a checkpoint file in it, probably {named} ({why}){also}.')


# The URL schemes load_checkpoint_file downloads; any other name is a path.
URL_SCHEMES = ('http://', 'https://')


def load_checkpoint_file(filename: str,
                         map_location: Optional[Any] = 'cpu',
                         lazy: bool = False) -> Any:
    """Read a checkpoint from a local path or an http(s) URL, safely.

    Args:
        filename: Path or URL.
        map_location: As ``torch.load``'s.
        lazy: Read only the checkpoint's structure and memory-map its
            tensors (to check a file that is read in full later); a file in
            torch's legacy (non-zip) format, which cannot be mapped, is read
            in full.

    Raises:
        UnreadableCheckpointError: the file is missing or a directory, is
            not a torch checkpoint, is truncated or damaged, or holds Python objects
            outside the safe allow-list.
        CheckpointError: a URL that cannot be downloaded.
    """
    if filename.startswith(URL_SCHEMES):
        path = download_checkpoint(filename)
    else:
        path = osp.expanduser(filename)
    if osp.isdir(path):
        raise directory_error(path)
    if not osp.isfile(path):
        raise UnreadableCheckpointError(
            f'Checkpoint file not found: {path!r}',
            f'Check the path (relative paths are resolved from '
            f'{os.getcwd()!r}).')
    try:
        return torch.load(path, map_location=map_location, weights_only=True,
                          mmap=lazy and zipfile.is_zipfile(path))
    except pickle.UnpicklingError as error:
        refused = _refused_object(str(error))
        if refused and _torch_format(path):
            raise UnreadableCheckpointError(
                f'Refusing to load {path!r}: it contains Python objects that '
                'are not plain data, and razor_wrn never runs code from a '
                f'checkpoint ({refused})',
                "If you trust the file, re-save only its weights, e.g. "
                "torch.save({'state_dict': ckpt['state_dict']}, "
                "'clean.pth').") from error
        raise _unreadable(path, error) from error
    except Exception as error:
        # A non-checkpoint file can fail anywhere in the unpickler
        # (KeyError, IndexError, ...): all of them mean "not readable".
        raise _unreadable(path, error) from error


def _refused_object(message: str) -> Optional[str]:
    """The line of torch's weights-only error naming what was refused."""
    for line in message.splitlines():
        if 'unsupported global' in line.lower() or 'getattr(' in line:
            return line.strip().removeprefix('WeightsUnpickler error: ')
    return None


# What torch.save writes first: a zip archive (torch >= 1.6), or in the
# legacy format a pickle (any protocol) whose first object is torch's magic
# number.
ZIP_MAGIC = b'PK\x03\x04'
LEGACY_MAGIC = pickle.dumps(torch.serialization.MAGIC_NUMBER,
                            protocol=2)[2:-1]


def _head(path: str, size: int = 512) -> bytes:
    try:
        with open(path, 'rb') as f:
            return f.read(size)
    except OSError:
        return b''


def _torch_format(path: str) -> Optional[str]:
    """``'zip'`` or ``'legacy'``: the torch.save format ``path`` starts
    with; None when it starts like neither."""
    head = _head(path)
    if head.startswith(ZIP_MAGIC):
        return 'zip'
    if head.startswith(b'\x80') and LEGACY_MAGIC in head[:32]:
        return 'legacy'
    return None


def _text_start(head: bytes) -> Optional[str]:
    """The first line of ``head`` (shortened) if it is text, else None."""
    try:
        text = head.decode('utf-8')
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the bytes read.
        if error.start < len(head) - 3:
            return None
        text = head[:error.start].decode('utf-8')
    if not all(c.isprintable() or c in '\t\r\n' for c in text):
        return None
    first = text.strip().split('\n', 1)[0].strip()
    return first if len(first) <= 40 else first[:40] + '...'


def _short_cause(error: Exception) -> str:
    """``error``'s first sentence, without torch's internal names (its zip
    reader's errors go on about 'an internal miniz error')."""
    if isinstance(error, EOFError):
        return 'the file ends early'
    lines = str(error).strip().splitlines()
    sentence = re.split(r'\.\s', lines[0])[0].rstrip('.') if lines else ''
    sentence = sentence.replace('PytorchStreamReader ', '')
    return sentence[:120] or type(error).__name__


# The fix for a checkpoint that was cut short or damaged.
SAVE_AGAIN = 'Save or download it again, or pass another checkpoint.'


def _unreadable(path: str, error: Exception) -> UnreadableCheckpointError:
    """The error for a file ``torch.load`` could not read: what the file is
    (empty, text, another format, a damaged torch checkpoint), from its
    first bytes, and the fix."""
    head = _head(path)
    if not head:
        return UnreadableCheckpointError(
            f'{path!r} is empty (0 bytes), not a PyTorch checkpoint',
            SAVE_AGAIN)
    kind = _torch_format(path)
    if kind is None:
        text = _text_start(head)
        what = (f'a text file, not a PyTorch checkpoint (its first line is '
                f'{text!r})' if text is not None else
                'not a PyTorch checkpoint (its first bytes are not those '
                'torch.save writes)')
        return UnreadableCheckpointError(
            f'{path!r} is {what}',
            'Pass a checkpoint written by tools/train.py or torch.save.')
    # A zip archive ends with its index: without one the file was cut short
    # (a copy or a save that did not finish).
    cause = 'the end of the file is missing' if kind == 'zip' and \
        not zipfile.is_zipfile(path) else _short_cause(error)
    return UnreadableCheckpointError(
        f'{path!r} is a truncated or damaged PyTorch checkpoint ({cause})',
        SAVE_AGAIN)


CIFAR_ZOO_CONVERTER = 'tools/model_converters/convert_cifar_zoo_wrn.py'


def cifar_zoo_wrn_weights(checkpoint: Any) -> Optional[Dict[str, Any]]:
    """The state dict of a WRN checkpoint in the layout RepDistiller's and
    mdistiller's code write (``{'model': state_dict}`` or the bare state
    dict; modules ``block{1,2,3}.layer.N``, ``fc``), else None."""
    weights = checkpoint.get('model', checkpoint) if isinstance(
        checkpoint, dict) else None
    if isinstance(weights, dict) and {
            'block1.layer.0.conv1.weight', 'fc.weight'} <= weights.keys():
        return weights
    return None


def state_dict_of(checkpoint: Any, source: str) -> Dict[str, torch.Tensor]:
    """The weights of a loaded checkpoint: its ``state_dict`` entry (the
    layout mmengine and MMRazor save), or the checkpoint itself when it is a
    bare state dict.

    Raises:
        CheckpointError: no state dict, or a CIFAR-zoo WRN that needs
            converting first (the message gives the command).
    """
    if cifar_zoo_wrn_weights(checkpoint) is not None:
        converted = osp.splitext(source)[0] + '_razor_wrn.pth'
        raise CheckpointError(
            f'{source!r} is a WRN checkpoint written by RepDistiller\'s or '
            'mdistiller\'s code (modules block1..3.layer.N, fc), not a '
            'razor_wrn one: convert it first with `python '
            f'{CIFAR_ZOO_CONVERTER} {shlex.quote(source)} '
            f'{shlex.quote(converted)}` and '
            'use the converted file.')
    if isinstance(checkpoint, dict) and isinstance(
            checkpoint.get('state_dict'), dict):
        checkpoint = checkpoint['state_dict']
    if not isinstance(checkpoint, dict) or not all(
            isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise CheckpointError(
            f'{source!r} holds no state dict: expected a dict of tensors or '
            "a dict with a 'state_dict' entry.")
    return checkpoint


# mmengine logs each load as 'Loads checkpoint by {name[10:]} backend', the
# loader's name less its first ten characters (its own are
# load_from_local, load_from_http): these names keep that word right.
def load_from_local(filename: str, map_location: Optional[Any] = None
                    ) -> Any:
    """mmengine's loader of local paths: :func:`load_checkpoint_file`.

    Raises:
        CheckpointError: as :func:`load_checkpoint_file`.
    """
    return load_checkpoint_file(filename, map_location)


def load_from_http(filename: str, map_location: Optional[Any] = None,
                   model_dir: Optional[str] = None,
                   progress: bool = False) -> Any:
    """mmengine's loader of http(s) URLs (and, through them, of its model
    zoo schemes): :func:`load_checkpoint_file`; ``model_dir`` and
    ``progress`` are accepted and ignored (the download goes to
    :func:`cache_path`, quietly).

    Raises:
        CheckpointError: as :func:`load_checkpoint_file`.
    """
    # mmengine lets rank 0 download first behind a barrier;
    # download_checkpoint's file lock does the same for any processes
    # sharing the cache (several machines, or a call that not every rank
    # makes), without a collective.
    return load_checkpoint_file(filename, map_location)


def use_safe_checkpoint_loaders() -> None:
    """Make every mmengine checkpoint load (``load_from``, ``--resume``,
    ``init_cfg=dict(type='Pretrained')``) go through
    :func:`load_checkpoint_file`."""
    allow_mmengine_checkpoint_objects()
    CheckpointLoader.register_scheme('', load_from_local, force=True)
    CheckpointLoader.register_scheme(URL_SCHEMES, load_from_http,
                                     force=True)
    # mmengine's torchvision://, open-mmlab:// and mmcls:// loaders call its
    # module-level load_from_http directly, bypassing the scheme table.
    mmengine_checkpoint.load_from_http = load_from_http


def _wrn_signature(state_dict: Dict[str, torch.Tensor],
                   part: str = '') -> Optional[str]:
    """'WRN-depth-width' of a WideResNet state dict, if it holds one; of the
    keys starting with ``part`` (e.g. ``'teacher.'``) when given."""
    conv_keys = [k for k in state_dict if k.startswith(part)
                 and k.endswith('layer1.0.conv1.weight')]
    if not conv_keys:
        return None
    prefix = conv_keys[0][:-len('layer1.0.conv1.weight')]
    blocks = {k.split('.')[0] for k in (
        key[len(prefix) + len('layer1.'):] for key in state_dict
        if key.startswith(prefix + 'layer1.'))}
    width = state_dict[conv_keys[0]].shape[0] // 16
    return f'WRN-{6 * len(blocks) + 4}-{width}'


def load_weights_strictly(model: torch.nn.Module,
                          state_dict: Dict[str, torch.Tensor],
                          source: str, role: str = '') -> None:
    """``model.load_state_dict(state_dict, strict=True)``, failing with one
    message that lists the missing and unexpected keys and the shape
    mismatches, and names the likely cause.

    Args:
        model: The module to load into.
        state_dict: Its weights.
        source: The checkpoint's path, named in the message.
        role: What the checkpoint is for (e.g. ``'model.teacher_ckpt'``),
            named after the path; empty: nothing.

    Raises:
        CheckpointError: ``state_dict`` does not fit ``model``; nothing is
            loaded then.
    """
    check_weights_fit(model, state_dict, source, role)
    model.load_state_dict(state_dict, strict=True)


def _num_classes(state_dict: Dict[str, torch.Tensor]) -> Optional[int]:
    heads = [v for k, v in state_dict.items() if k.endswith('head.fc.weight')]
    return heads[0].shape[0] if len(heads) == 1 else None


def check_weights_fit(model: torch.nn.Module,
                      state_dict: Dict[str, torch.Tensor],
                      source: str, role: str = '') -> None:
    """Raise a :class:`CheckpointError` listing the missing and unexpected
    keys and the shape mismatches unless ``state_dict`` fits ``model``
    exactly (arguments as :func:`load_weights_strictly`)."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    mismatched = [
        f'{k}: checkpoint {tuple(state_dict[k].shape)} vs model '
        f'{tuple(v.shape)}' for k, v in expected.items()
        if k in state_dict and state_dict[k].shape != v.shape
    ]
    if not (missing or unexpected or mismatched):
        return

    def listing(title, items):
        shown = '\n    '.join(items[:8])
        more = f'\n    ... and {len(items) - 8} more' if len(items) > 8 else ''
        return f'\n  {title} ({len(items)}):\n    {shown}{more}'

    hints = []
    # A distillation checkpoint names each network; the fix for one of them
    # is that network's depth and width, not another config.
    parts = [('teacher.', 'model.teacher'),
             ('architecture.', 'model.architecture')] if any(
                 k.startswith(('teacher.', 'architecture.'))
                 for k in expected) else [('', '')]
    for part, key in parts:
        found = _wrn_signature(state_dict, part)
        wanted = _wrn_signature(expected, part)
        if not (found and wanted and found != wanted):
            continue
        if role == 'model.teacher_ckpt':
            key = 'model.teacher'
        if key:
            depth, width = found.split('-')[1:]
            hints.append(
                f'the checkpoint\'s {part.rstrip(".") or "network"} is a '
                f'{found}, the config builds a {wanted}: pass --cfg-options '
                f'{key}.backbone.depth={depth} '
                f'{key}.backbone.widen_factor={width}')
        else:
            hints.append(
                f'the checkpoint holds a {found}, the config builds a '
                f'{wanted}: use the config that matches the checkpoint')
    classes, wanted_classes = _num_classes(state_dict), _num_classes(expected)
    if classes and wanted_classes and classes != wanted_classes:
        hints.append(
            f'the checkpoint classifies {classes} classes, the config '
            f'{wanted_classes}: use one trained on the config\'s data set '
            '(e.g. a CIFAR-100 one for a _cifar100 config)')
    if parts == [('', '')] and any(
            k.startswith(('architecture.', 'teacher.')) for k in unexpected):
        hints.append(
            'this is a distillation checkpoint: test it with its KD config, '
            'or extract the student with tools/model_converters/'
            'convert_kd_ckpt_to_student.py')
    message = (f'Checkpoint {source!r}{f" ({role})" if role else ""} does '
               'not fit the model:' +
               (listing('missing keys', missing) if missing else '') +
               (listing('unexpected keys', unexpected) if unexpected else '') +
               (listing('shape mismatches', mismatched) if mismatched else ''))
    if hints:
        message += '\n  Likely cause: ' + '; '.join(hints) + '.'
    raise CheckpointError(message)


def check_teacher_ckpt(teacher_ckpt: str) -> None:
    """Stop early, with how to get one, when ``teacher_ckpt`` is a missing
    local file or a URL that cannot be downloaded (tools/train.py checks it
    before mmengine starts a run; a URL is downloaded into the cache here,
    once, see :func:`download_checkpoint`).

    Raises:
        CheckpointError: ``teacher_ckpt`` is a local path and no file (a
            directory: the message names the likely file in it), or a
            URL whose download failed (the message says how to pass a local
            teacher instead).
    """
    if teacher_ckpt.startswith(URL_SCHEMES):
        try:
            download_checkpoint(teacher_ckpt)
        except CheckpointError as error:
            raise CheckpointError(
                f'{error} To train without network access, download it '
                'elsewhere (or train a teacher with its vanilla config) and '
                'pass --cfg-options model.teacher_ckpt=PATH.') from error
        return
    path = osp.expanduser(teacher_ckpt)
    if osp.isfile(path):
        return
    if osp.isdir(path):
        raise directory_error(
            path, f'Teacher checkpoint {teacher_ckpt!r} (model.teacher_ckpt)',
            '--cfg-options model.teacher_ckpt=', none_fix=(
                'Pass one with --cfg-options model.teacher_ckpt=PATH, or '
                'train the teacher first with its vanilla config.'))
    folder = osp.dirname(teacher_ckpt)
    found = sorted(f for f in os.listdir(folder) if f.endswith('.pth')) \
        if folder and osp.isdir(folder) else []
    raise CheckpointError(
        f'Teacher checkpoint not found: {teacher_ckpt!r} '
        '(model.teacher_ckpt)' +
        (f'; {folder} holds {", ".join(found[:5])}' if found else '') +
        '. Train the teacher first with its vanilla config (tools/train.py '
        'writes work_dirs/<config>/epoch_<N>.pth), or pass one with '
        '--cfg-options model.teacher_ckpt=PATH; a RepDistiller or '
        f'mdistiller teacher needs {CIFAR_ZOO_CONVERTER} first.')


def load_teacher_ckpt(teacher: torch.nn.Module, teacher_ckpt: str) -> None:
    """Load ``teacher_ckpt`` (path or URL; a ``tools/train.py`` checkpoint,
    an MMRazor release or a bare state dict) into ``teacher``, strictly.

    The file is not checked before it is read: ``tools/train.py`` has done
    that (:func:`check_teacher_ckpt`) before the run started. Only when
    reading fails does the check run, so that a missing file or a failed
    download is reported with how to get a teacher whatever built the model.

    Raises:
        CheckpointError: ``teacher_ckpt`` is missing (the message says how
            to get one), unreadable, unsafe, or does not fit ``teacher``.
    """
    try:
        checkpoint = load_checkpoint_file(teacher_ckpt)
    except CheckpointError:
        check_teacher_ckpt(teacher_ckpt)
        raise  # it is there, but not a readable checkpoint
    load_weights_strictly(teacher, state_dict_of(checkpoint, teacher_ckpt),
                          teacher_ckpt, 'model.teacher_ckpt')


def fit_load_from(model: torch.nn.Module, checkpoint: dict,
                  source: str) -> bool:
    """Make a ``load_from`` checkpoint load strictly into ``model``.

    mmengine loads ``load_from`` with ``strict=False``: whatever does not
    match is skipped with a warning. Here the weights must fit ``model``
    exactly, or, when ``model`` is a distillation (it has an
    ``architecture``, the student) and the checkpoint is a plain
    classifier's, fit the student exactly: then ``checkpoint``'s weights are
    rewritten in place to the whole model's, the student's from the
    checkpoint and the rest (teacher, connectors, memory banks) as they
    are, so that mmengine's load changes exactly the student.

    Args:
        model: The model being trained (not its DDP wrapper).
        checkpoint: The loaded checkpoint (a dict with ``state_dict``, or a
            bare state dict), changed in place.
        source: The checkpoint's path, named in errors.

    Returns:
        bool: Whether the checkpoint was a classifier's loaded onto the
        student.

    Raises:
        CheckpointError: the weights fit neither the model nor its student;
            the message lists the mismatches.
    """
    weights = state_dict_of(checkpoint, source)
    weights = {re.sub(r'^module\.', '', k): v for k, v in weights.items()}
    student = getattr(model, 'architecture', None)
    is_classifier = not any(k.startswith(('architecture.', 'teacher.'))
                            for k in weights)
    if not isinstance(student, torch.nn.Module) or not is_classifier:
        check_weights_fit(model, weights, source, 'load_from')
        return False
    check_weights_fit(student, weights, source, 'load_from, as the student')
    merged = model.state_dict()
    merged.update({f'architecture.{k}': v for k, v in weights.items()})
    target = checkpoint['state_dict'] if isinstance(
        checkpoint.get('state_dict'), dict) else checkpoint
    target.clear()
    target.update(merged)
    return True
