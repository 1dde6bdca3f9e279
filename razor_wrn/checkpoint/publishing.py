"""A checkpoint made fit to publish: the weights and the run's ``meta``
only (no optimizer state, message hub or scheduler state), written under
OpenMMLab's model-zoo name ``NAME_YYYYMMDD-<first 8 hex digits of its
sha256>.pth``. :func:`~razor_wrn.checkpoint.load_checkpoint_file` checks that
prefix whenever the file is later given as a URL.

Optionally the convolution and linear weights are stored in bfloat16 or
float16, which halves the file. Under autocast in the same precision
(``--amp bf16`` / ``--amp fp16``) those layers compute with weights rounded to
that precision anyway (round to nearest even, as ``Tensor.to`` rounds), so a
model loaded from such a file gives the same outputs there as one loaded
from the float32 original; BatchNorm's parameters and statistics, and every
one-dimensional tensor, stay float32. In float32 inference the rounded
weights change the outputs slightly.
"""
import hashlib
import os.path as osp
from typing import Any, Dict, Tuple

import torch

from .atomic_files import checkpoint_bytes, save_checkpoint_file
from .reading import load_checkpoint_file, state_dict_of

# --weights-dtype: the precision of tensors of two or more dimensions.
WEIGHT_DTYPES = {
    'float32': torch.float32,
    'bfloat16': torch.bfloat16,
    'float16': torch.float16,
}


def published_checkpoint(checkpoint: Any, source: str,
                         weights_dtype: str = 'float32') -> Dict[str, Any]:
    """``checkpoint`` reduced to ``{'meta': ..., 'state_dict': ...}``.

    Args:
        checkpoint: A loaded checkpoint (``tools/train.py``'s, an MMRazor
            release or a bare state dict).
        source: Its file name, for ``meta['published_from']`` and errors.
        weights_dtype: A key of :data:`WEIGHT_DTYPES`: floating tensors of
            two or more dimensions (convolution and linear weights, shape
            ``(C_out, C_in, kH, kW)`` / ``(C_out, C_in)``) are stored in it.

    Returns:
        dict: The weights and a copy of ``meta`` that also names the source
        file (its base name) and ``weights_dtype``.

    Raises:
        CheckpointError: ``checkpoint`` holds no state dict.
        KeyError: ``weights_dtype`` is not a key of :data:`WEIGHT_DTYPES`.
    """
    dtype = WEIGHT_DTYPES[weights_dtype]
    state_dict = {
        key: value.to(dtype)
        if value.is_floating_point() and value.dim() >= 2 else value
        for key, value in state_dict_of(checkpoint, source).items()
    }
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    meta = dict(meta) if isinstance(meta, dict) else {}
    meta.update(published_from=osp.basename(source),
                weights_dtype=weights_dtype)
    return {'meta': meta, 'state_dict': state_dict}


def publish_checkpoint(source: str, out: str, date: str,
                       weights_dtype: str = 'float32') -> Tuple[str, str]:
    """Write ``source`` as published under ``OUT_<date>-<sha8>.pth``.

    Args:
        source: Checkpoint path or URL.
        out: The published file's name before the date and hash (a
            trailing ``.pth`` is dropped); its folder is created.
        date: ``YYYYMMDD``, the name's date.
        weights_dtype: As :func:`published_checkpoint`'s.

    Returns:
        tuple: The written path and the file's full sha256 (hex).

    Raises:
        CheckpointError: ``source`` is missing, unreadable or holds no state
            dict, or the file cannot be written (nothing is left behind).
    """
    published = published_checkpoint(
        load_checkpoint_file(source), source, weights_dtype)
    # Saved to memory first: the name holds the bytes' hash, and the bytes
    # written are exactly the hashed ones.
    data = checkpoint_bytes(published)
    sha256 = hashlib.sha256(data).hexdigest()
    stem = out[:-len('.pth')] if out.endswith('.pth') else out
    path = f'{stem}_{date}-{sha256[:8]}.pth'
    save_checkpoint_file(data, path)
    return path, sha256
