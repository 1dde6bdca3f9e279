"""Linear warm-up of distillation loss weights over the first epochs."""
from typing import Dict, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class DistillLossWarmupHook(Hook):
    """Scale the weight of the named distillation losses by
    ``min(epoch / warmup_epochs, 1)`` (``epoch`` counted from 1), as DKD's
    reference code does (Zhao et al., CVPR 2022; mdistiller's ``DKD``).

    The configured ``loss_weight`` of each loss is the final weight; the
    hook reads it once before training, so a resumed run ramps the same way.

    Args:
        loss_names: Keys of ``distiller.distill_losses`` to warm up.
        warmup_epochs: Epochs until the full weight is reached.
    """

    priority = 'NORMAL'

    def __init__(self, loss_names: Sequence[str], warmup_epochs: int) -> None:
        if warmup_epochs < 1:
            raise ValueError(
                f'warmup_epochs must be >= 1, got {warmup_epochs}.')
        self.loss_names = list(loss_names)
        self.warmup_epochs = warmup_epochs
        self._final_weights: Dict[str, float] = {}

    def _losses(self, runner):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        losses = model.distiller.distill_losses
        unknown = [name for name in self.loss_names if name not in losses]
        if unknown:
            raise KeyError(
                f'DistillLossWarmupHook: no distill losses named {unknown}; '
                f'the distiller has {list(losses)}.')
        return {name: losses[name] for name in self.loss_names}

    def before_train(self, runner) -> None:
        self._final_weights = {
            name: loss.loss_weight
            for name, loss in self._losses(runner).items()
        }

    def before_train_epoch(self, runner) -> None:
        factor = min((runner.epoch + 1) / self.warmup_epochs, 1.0)
        for name, loss in self._losses(runner).items():
            loss.loss_weight = self._final_weights[name] * factor
