"""Find the torch calls that make the host wait for the device.

On a GPU, a call whose result the host needs (``.item()``, ``bool(t)``,
``.tolist()``, ``.cpu()``) or whose output size depends on the data
(indexing by a boolean mask, ``nonzero``, ``unique``) waits for every
kernel queued before it: the host can no longer run ahead of the GPU, and
such a step cannot be recorded as a CUDA graph. The calls are the same on a
CPU, so :class:`HostReads` finds them there, without a GPU: it watches the
torch functions and tensor methods called inside its block (a
``TorchFunctionMode``) and records each such call with where it was made.
"""
import traceback
from collections import Counter
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
from torch.overrides import TorchFunctionMode

# Calls that return host values, or tensors whose size depends on the data.
READS = frozenset((
    'item', 'tolist', 'numpy', 'cpu', '__bool__', '__float__', '__int__',
    '__index__', 'nonzero', 'argwhere', 'masked_select', 'unique',
    'unique_consecutive', 'equal', 'allclose', 'is_nonzero', 'bincount',
    'repeat_interleave'))
_TORCH_FILES = ('/torch/', '\\torch\\')


def _is_read(name: str, args: Sequence[Any]) -> bool:
    if name in READS:
        return True
    if name in ('__getitem__', '__setitem__') and len(args) > 1:
        index = args[1] if isinstance(args[1], tuple) else (args[1], )
        return any(torch.is_tensor(part) and part.dtype == torch.bool
                   for part in index)
    return False


class HostReads(TorchFunctionMode):
    """Within ``with HostReads() as reads:``, ``reads.calls`` counts each
    host-reading call by ``(name, 'file:line')`` of the first frame outside
    torch that made it.

    Example::

        with HostReads() as reads:
            loss = model.loss(images, labels)
            loss.backward()
        assert not reads.calls, reads.calls
    """

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter = Counter()

    def __torch_function__(self, func, types, args: Tuple = (),
                           kwargs: Optional[Dict] = None) -> Any:
        name = getattr(func, '__name__', str(func))
        if _is_read(name, args):
            self.calls[(name, _caller())] += 1
        return func(*args, **(kwargs or {}))


def _caller() -> str:
    """``'file:line'`` of the innermost frame outside torch and this file."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not any(part in frame.filename for part in _TORCH_FILES) and \
                frame.filename != __file__:
            return f'{frame.filename}:{frame.lineno}'
    return '?'
