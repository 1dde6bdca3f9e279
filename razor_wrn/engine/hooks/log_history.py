"""How much of the training log history a run keeps in its message hub.

mmengine's ``HistoryBuffer.update`` appends with ``np.append``, a copy of the
whole history, and a buffer keeps up to a million values: a value's cost
grows with the run (measured on a 2-core EPYC: 4 us with 1,000 values, 150
us with 39,000, 320 us with 78,200). The logs read only the newest few
(:class:`~mmengine.runner.LogProcessor` smooths over ``window_size``
iterations, a ``custom_cfg`` entry over its own window, an epoch or the
whole run), and the full curves are in the visualizer's ``scalars.json``.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, MessageHub


def training_history_length(runner) -> Optional[int]:
    """The number of values per ``train/*`` scalar the run's logs can read.

    Args:
        runner (Runner): A runner whose train dataloader and log processor
            are built.

    Returns:
        int | None: The largest window of the log processor (its
        ``window_size`` and each ``custom_cfg`` window), and at least one
        epoch of iterations (a ``'epoch'`` window reads that many); None
        when a ``custom_cfg`` entry reads the ``'global'`` window, which
        needs the whole run.
    """
    processor = runner.log_processor
    windows = [processor.window_size] + [
        entry.get('window_size') for entry in processor.custom_cfg]
    if 'global' in windows:
        return None
    length = max(window for window in windows if isinstance(window, int))
    try:
        length = max(length, len(runner.train_dataloader))
    except TypeError:  # a loader without a length
        pass
    return max(length, 1)


def bound_training_history(message_hub: MessageHub,
                           length: Optional[int]) -> None:
    """Keep at most ``length`` values in each ``train/*`` history from its
    next update on (``HistoryBuffer.max_length``).

    Args:
        message_hub (MessageHub): The run's message hub.
        length (int, optional): Values to keep; None changes nothing.
    """
    if length is None:
        return
    for key, history in message_hub.log_scalars.items():
        if key.startswith('train/') and history.max_length > length:
            history.max_length = length


def append_scalars(message_hub: MessageHub,
                   pending: Sequence[Tuple[str, object]]) -> None:
    """Log ``(key, value)`` pairs to the message hub as ``update_scalar``
    would one by one, with one new history per key.

    Tensors are read back with one transfer per device and dtype (their
    ``tolist()`` gives what ``Tensor.item()`` would), then each key's values
    are appended at once: ``update_scalar`` per value would copy the whole
    history each time.

    Args:
        message_hub (MessageHub): Where the values go.
        pending (sequence): ``(key, value)`` in the order they were
            produced; a value is a Python number or a one-element tensor.
    """
    values = [value for _, value in pending]
    groups: Dict[Tuple[torch.device, torch.dtype], List[int]] = {}
    for index, value in enumerate(values):
        if torch.is_tensor(value):
            groups.setdefault((value.device, value.dtype), []).append(index)
    for indices in groups.values():
        numbers = torch.stack([values[i].reshape(())
                               for i in indices]).tolist()
        for index, number in zip(indices, numbers):
            values[index] = number
    by_key: Dict[str, List] = {}
    for (key, _), value in zip(pending, values):
        if isinstance(value, (np.ndarray, np.number)):
            value = value.item()  # as MessageHub._get_valid_value does
        by_key.setdefault(key, []).append(value)
    scalars = message_hub.log_scalars
    for key, numbers in by_key.items():
        if key not in scalars:
            # The first value makes the history (and its dtype) as
            # update_scalar does; the rest are appended below.
            message_hub.update_scalar(key, numbers[0])
            numbers = numbers[1:]
            if not numbers:
                continue
        history = scalars[key]
        for number in numbers:
            if not isinstance(number, (int, float)):
                history.update(number)  # raises HistoryBuffer's TypeError
        logged, counts = history.data
        length = history.max_length
        scalars[key] = HistoryBuffer(
            np.append(logged, numbers)[-length:],
            np.append(counts, [1] * len(numbers))[-length:], length)
