"""Why a checkpoint cannot be used, said with the fix: a directory given
where a checkpoint file belongs (naming the file in it most likely meant),
or a file ``torch.load`` could not read (empty, text, another format, cut
short or damaged, or holding objects outside the allow-list).
"""
import glob
import os
import os.path as osp
import pickle
import re
import shlex
import zipfile
from typing import List, Optional, Tuple

import torch

from ..errors import CheckpointError


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
