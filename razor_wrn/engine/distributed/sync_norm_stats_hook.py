"""Equal BN running statistics on every process of a distributed run."""
from typing import Optional, Sequence

import torch
from mmengine.dist import all_reduce_params
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import EpochBasedTrainLoop
from torch.nn.modules.batchnorm import _NormBase


def sync_norm_stats(model: torch.nn.Module) -> None:
    """Replace the running mean and variance of every norm layer in training
    mode by their mean over the processes (in place; nothing to do in a
    single process).

    Layers in eval mode (the frozen teacher) do not update their statistics,
    so they are equal on every rank and left as they are, bit for bit.
    ``num_batches_tracked`` counts the same steps on every rank.

    Args:
        model: The (wrapped or bare) model.
    """
    stats = [
        stat for layer in model.modules()
        if isinstance(layer, _NormBase) and layer.training
        and layer.track_running_stats
        for stat in (layer.running_mean, layer.running_var)
    ]
    all_reduce_params(stats, op='mean')


@HOOKS.register_module()
class SyncNormStatsHook(Hook):
    """Average the BN running statistics over the processes before every
    validation and every checkpoint.

    Each process updates its BN statistics on its own shard of each batch,
    and DDP (with ``broadcast_buffers=False``, mmengine's default) never
    reconciles them, so the ranks validate different models and the
    checkpoint (rank 0's) is not the model whose metrics were logged or
    chosen as best. Averaging uses every shard's statistics: for the mean
    it equals the running mean over the whole batch (equal shards, a linear
    update); broadcasting rank 0's would keep one shard's. With SyncBN the
    statistics are equal already and this changes nothing.

    Epoch-based loops validate and checkpoint after an epoch, so the
    statistics are averaged then (priority NORMAL runs before the
    CheckpointHook's VERY_LOW). Iteration-based loops may checkpoint after
    any iteration, so there they are averaged after every iteration (one
    all-reduce of a few kilobytes).
    """

    priority = 'NORMAL'

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[Sequence[dict]] = None,
                         outputs: Optional[dict] = None) -> None:
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            sync_norm_stats(runner.model)

    def after_train_epoch(self, runner) -> None:
        sync_norm_stats(runner.model)
