"""Run the model in channels-last (NHWC) memory format."""
import logging

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Convert the model's 4-d parameters and buffers to channels-last
    before the run starts.

    Convolutions (cuDNN with tensor cores, oneDNN on the CPU) are often
    faster on NHWC; the mathematics is unchanged. The input batch needs no
    conversion: a convolution whose weight is channels-last produces a
    channels-last output, so every layer after the first runs in NHWC.

    ``Module.to(memory_format=...)`` swaps each parameter's data in place,
    so the optimizer built before ``before_run`` keeps updating the same
    parameters, and checkpoints load into them unchanged (``copy_`` keeps
    the layout). Turn it on in a config::

        custom_hooks = [dict(type='ChannelsLastHook')]
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        model.to(memory_format=torch.channels_last)
        print_log('Model in channels-last (NHWC) memory format.',
                  logger='current', level=logging.INFO)
