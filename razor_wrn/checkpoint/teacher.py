"""A distillation's teacher checkpoint (``model.teacher_ckpt``): checked
before a run starts, with how to get one when it is missing, and loaded
into the teacher strictly.
"""
import os
import os.path as osp

import torch

from ..errors import CheckpointError
from .diagnosis import directory_error
from .download import URL_SCHEMES, download_checkpoint
from .fitting import load_weights_strictly
from .reading import CIFAR_ZOO_CONVERTER, load_checkpoint_file, state_dict_of


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
