"""Reading a checkpoint file (a local path or an http(s) URL) safely, and
the state dict in it; a WRN checkpoint written by RepDistiller's or
mdistiller's code is named with the command that converts it.
"""
import os
import os.path as osp
import pickle
import shlex
import zipfile
from typing import Any, Dict, Optional

import torch

from ..errors import CheckpointError
from .diagnosis import (UnreadableCheckpointError, _refused_object,
                        _torch_format, _unreadable, directory_error)
from .download import URL_SCHEMES, download_checkpoint


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
