"""Unpickling that can build numpy arrays and nothing else.

A plain ``pickle.loads`` of a crafted data file runs arbitrary code.
:func:`load_numpy_pickle` resolves only the globals that pickled dicts of
numpy arrays, lists and strings name (those of the CIFAR python files, from
Python 2's cPickle to numpy 2 at protocol 5), so loading one never runs code
from it.
"""
import pickle
from io import BytesIO
from typing import Any, Dict, Tuple

import numpy as np

try:  # numpy >= 2 moved its core; pickles name either location.
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _multiarray
    from numpy.core import numeric as _numeric


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle asked for a global outside :data:`ALLOWED_GLOBALS`; the
    message is the refused ``module.name``."""


def _latin1_encode(text: str, encoding: str = 'latin1') -> bytes:
    """Stand-in for ``_codecs.encode`` restricted to what pickle writes.

    Python 3 stores ``bytes`` at protocol 2 as ``_codecs.encode(text,
    'latin1')``; no other codec belongs in a data file.
    """
    if encoding != 'latin1':
        raise RefusedGlobal(f'_codecs.encode with encoding {encoding!r}')
    return text.encode('latin1')


def _allowed_globals() -> Dict[Tuple[str, str], Any]:
    """Map the (module, name) pairs numpy pickles contain to objects.

    Python 2 files name ``numpy.core.multiarray._reconstruct``,
    ``numpy.ndarray`` and ``numpy.dtype``; numpy 2 writes ``numpy._core``,
    protocol 5 adds ``numeric._frombuffer`` and numpy scalars
    ``multiarray.scalar``. The objects are bound here, so a pickle never
    makes the loader import a module.
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


ALLOWED_GLOBALS = _allowed_globals()


class _NumpyUnpickler(pickle.Unpickler):
    """Every way a pickle reaches a callable (GLOBAL, STACK_GLOBAL, INST, OBJ,
    the copyreg EXT opcodes) goes through :meth:`find_class`, so refusing
    everything else there means the data cannot run code."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise RefusedGlobal(f'{module}.{name}') from None


def load_numpy_pickle(raw: bytes) -> Any:
    """Unpickle ``raw`` (Python 2 strings read as latin-1) safely.

    A dict with ``bytes`` keys (a re-dump of ``pickle.load(...,
    encoding='bytes')``) gets ``str`` keys.

    Args:
        raw (bytes): The pickled file.

    Returns:
        Any: The unpickled object.

    Raises:
        RefusedGlobal: The pickle names a global other than numpy's array
            constructors.
        Exception: Whatever pickle raises for a truncated or garbled file
            (``EOFError``, ``UnpicklingError``, ``ValueError``...).
    """
    entry = _NumpyUnpickler(BytesIO(raw), encoding='latin1').load()
    if isinstance(entry, dict):
        entry = {
            k.decode('latin1') if isinstance(k, bytes) else k: v
            for k, v in entry.items()
        }
    return entry
