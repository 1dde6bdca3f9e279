"""Mixed precision without loss scaling: the forward pass under bf16
autocast (on a CPU, or on a GPU with ``tools/train.py --amp bf16``)."""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS
from torch import nn


@OPTIM_WRAPPERS.register_module()
class BF16AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose ``optim_context`` runs the forward pass under
    ``torch.autocast(device_type, dtype=torch.bfloat16)``; the weights, the
    gradients and the optimizer state stay fp32.

    mmengine 0.10.7's ``AmpOptimWrapper`` asserts that a GPU (or NPU, MLU,
    MUSA) is present, so it cannot run on a CPU. bf16 keeps fp32's 8-bit
    exponent, so gradients do not underflow and no loss scaling is needed.

    Args:
        device_type: ``torch.autocast``'s device type. Defaults to 'cpu'.
        **kwargs: ``OptimWrapper``'s arguments (``optimizer``,
            ``accumulative_counts``, ``clip_grad``).
    """

    def __init__(self, device_type: str = 'cpu', **kwargs) -> None:
        super().__init__(**kwargs)
        self.device_type = device_type

    @contextmanager
    def optim_context(self, model: nn.Module):
        # A step recorded as a CUDA graph must not cache the casted weights
        # (PyTorch's rule for autocast inside graph capture).
        capturing = torch.cuda.is_available() and \
            torch.cuda.is_current_stream_capturing()
        with super().optim_context(model), torch.autocast(
                self.device_type, dtype=torch.bfloat16,
                cache_enabled=not capturing):
            yield
