"""What ``torch.load(weights_only=True)`` may build from a checkpoint.

torch >= 2.6 unpickles with ``weights_only=True``: only tensors, containers
and an allow-list of globals. mmengine 0.10.7 checkpoints also hold its
``HistoryBuffer`` (the message hub's logs) and numpy arrays and scalars, so
those plain-data types are allowed here; nothing that can execute code is.
"""
import pickle
from typing import Any

import numpy as np
import torch
from mmengine.logging import HistoryBuffer


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
