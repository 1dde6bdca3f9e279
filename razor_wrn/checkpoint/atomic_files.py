"""Files that a kill or a full disk at any moment cannot damage: written to
a temporary file in the same folder, flushed and fsynced, then renamed over
the target (``os.replace`` is atomic on POSIX and Windows), so the target
holds either its old or its new content.
"""
import io
import os
import os.path as osp
import tempfile
from typing import Any

import torch

from ..errors import CheckpointError
from .file_modes import new_file_mode

TMP_SUFFIX = '.tmp'


def write_atomically(data: bytes, path: str) -> None:
    """Replace ``path`` by a file holding ``data``, so that ``path`` holds
    either its old or its new content whenever the process dies.

    The new file gets the mode ``open()`` would give it (the old file's, or
    0666 less the umask), not ``mkstemp``'s 0600, so teammates can read the
    checkpoints of a shared work dir as they can its logs.

    Raises:
        OSError: the folder cannot be written (no space left, quota,
            permissions); ``path`` is unchanged and no temporary file is
            left.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix=f'.{osp.basename(path)}.', suffix=TMP_SUFFIX)
    try:
        os.fchmod(fd, new_file_mode(path))
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    # Make the rename itself durable.
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def checkpoint_bytes(checkpoint: Any) -> bytes:
    """``checkpoint`` as ``torch.save`` writes it (the same bytes for the
    same content, so a hash of them names the file)."""
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return buffer.getvalue()


def save_checkpoint_file(data: bytes, path: str) -> None:
    """Write a checkpoint's bytes (:func:`checkpoint_bytes`) to ``path``
    with :func:`write_atomically`, its folder created.

    Raises:
        CheckpointError: it cannot be written (no space left, a quota,
            permissions, a file where a folder should be); nothing was
            written and a file already at ``path`` is unchanged.
    """
    try:
        write_atomically(data, path)
    except OSError as error:
        where = error.filename or path
        raise CheckpointError(
            f'Could not write {path!r} ({where}: '
            f'{error.strerror or error}). Nothing was written and a file '
            'already there is unchanged: free space, or pass a path on a '
            'disk you can write to.') from error
