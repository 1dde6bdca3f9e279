"""Which checkpoint ``tools/train.py --resume`` resumes from.

mmengine reads the work dir's pointer file (:data:`POINTER`) and, without
one, silently trains from scratch; a damaged pointer or newest checkpoint
stops the run with a raw error. Here a missing checkpoint is one clear
error, and a damaged pointer or checkpoint falls back to the newest readable
checkpoint in the work dir, saying so.

A candidate is checked by reading its structure only (the pickled entries,
with the tensors' bytes memory-mapped, not read): the Runner then reads the
chosen checkpoint in full, once.
"""
import glob
import os.path as osp
import sys
from typing import List, Optional

from ..checkpoint import (POINTER, URL_SCHEMES, CheckpointError,
                          UnreadableCheckpointError, checkpoint_recency,
                          load_checkpoint_file)


def pointer_path(work_dir: str) -> str:
    """The path of ``work_dir``'s pointer to its newest checkpoint."""
    return osp.join(work_dir, POINTER)


def _readable(path: str) -> Optional[str]:
    """None if ``path`` is a readable checkpoint, else why not (what the
    file is, without a fix or a final period: the caller gives the fix)."""
    try:
        checkpoint = load_checkpoint_file(path, lazy=True)
    except UnreadableCheckpointError as error:
        return error.problem
    except CheckpointError as error:
        return str(error).rstrip('.')
    if not isinstance(checkpoint, dict) or 'meta' not in checkpoint:
        return f'{path!r} holds no training state (no meta entry)'
    return None


def _newest_readable(folder: str, skip: str = '') -> Optional[str]:
    """The most recently written readable ``*.pth`` in ``folder``."""
    candidates: List[str] = sorted(
        glob.glob(osp.join(glob.escape(folder), '*.pth')),
        key=checkpoint_recency, reverse=True)
    for path in candidates:
        if osp.abspath(path) != osp.abspath(skip) and _readable(path) is None:
            return path
    return None


def _fall_back(problem: str, folder: str, skip: str = '') -> str:
    fallback = _newest_readable(folder, skip)
    if fallback is None:
        raise CheckpointError(
            f'{problem}. No other readable checkpoint is in {folder!r}: '
            'train without --resume to start again.')
    # Before the Runner and its log exist: the tools' ERROR lines go to
    # stderr too.
    print(f'WARNING: {problem}. Resuming from the newest readable checkpoint '
          f'{fallback!r} instead.', file=sys.stderr)
    return fallback


def _from_pointer(work_dir: str) -> str:
    """The checkpoint the work dir's pointer names."""
    pointer = pointer_path(work_dir)
    if not osp.isfile(pointer):
        if not glob.glob(osp.join(glob.escape(work_dir), '*.pth')):
            raise CheckpointError(
                f'--resume: nothing to resume in {work_dir!r} (no checkpoint '
                'there). Train without --resume, pass --work-dir of the run '
                'to resume, or --resume CKPT.')
        return _fall_back(f'{pointer!r} is missing', work_dir)
    with open(pointer, encoding='utf-8', errors='replace') as f:
        named = f.read().strip()
    if not named:
        return _fall_back(f'{pointer!r} is empty', work_dir)
    local = osp.join(work_dir, osp.basename(named))
    if not osp.abspath(named).startswith(osp.abspath(work_dir) + osp.sep) \
            and osp.isfile(local):
        # A copied or moved work dir: its pointer still names the original
        # folder, whose files this run must not depend on.
        named = local
    problem = _readable(named)
    if problem is not None:
        return _fall_back(f'{pointer!r} names a damaged checkpoint: '
                          f'{problem}', work_dir, skip=named)
    return named


def resume_checkpoint(work_dir: str, requested: Optional[str]) -> str:
    """The checkpoint to resume from: ``requested``, or with None (or
    ``'auto'``, ``tools/train.py``'s ``--resume`` without a value) the one
    the work dir's pointer names, falling back to the newest readable
    checkpoint in ``work_dir`` when that one is missing or damaged.

    Args:
        work_dir: The run's work dir.
        requested: ``--resume`` as given: a local path, an http(s) URL
            (returned as it is; the Runner downloads and reads it), or
            None or ``'auto'`` to resume the latest one in ``work_dir``.

    Returns:
        str: The path of a readable checkpoint, or the URL.

    Raises:
        CheckpointError: nothing to resume in ``work_dir``, or ``requested``
            is damaged (naming the newest readable checkpoint beside it as
            the command to use instead).
    """
    if requested in (None, 'auto'):
        return _from_pointer(work_dir)
    if requested.startswith(URL_SCHEMES):
        return requested
    problem = _readable(requested)
    if problem is None:
        return requested
    folder = osp.dirname(requested) or '.'
    fallback = _newest_readable(folder, skip=requested)
    hint = (f'The newest readable checkpoint beside it is {fallback!r}: '
            f'resume with --resume {fallback}.' if fallback else
            f'No other readable checkpoint is in {folder!r}: pass another '
            'checkpoint, or train without --resume to start again.')
    raise CheckpointError(f'--resume: {problem}. {hint}')
