"""A config's recipe of R processes x B images, trained on N processes.

A config declares the recipe it describes with ``recipe_world_size``: the
``b16x8`` configs say ``recipe_world_size = 8`` beside
``train_dataloader.batch_size = 16`` (8 processes x 16 images, BatchNorm
over each process's 16, gradients averaged over the 128). On N processes,
N dividing R, :func:`apply_train_recipe` makes the run compute the same
step:

- each process takes ``R / N * B`` images per step, which the sampler
  (:class:`~razor_wrn.datasets.VirtualRankSampler`, or the device loader's
  ``virtual_ranks``) fills with the samples mmengine's ``DefaultSampler``
  would give R / N of the R ranks, one rank's ``B`` after the other;
- every BN config of the trained model (``norm_cfg`` anywhere under
  ``model`` but the frozen ``teacher``) becomes ``GhostBN`` with
  ``R / N`` groups, so each group of ``B`` is normalised with its own
  statistics and the running statistics move by the mean of the groups'
  updates (what ``SyncNormStatsHook`` gives R processes after an epoch);
- each loss is a mean over the process's equal groups, and DDP averages the
  N processes, so the gradient is the mean over the ``R * B`` images.

``TrainRecipeHook`` (added here) logs the recipe in one line and checks,
before the first step, that every trained BatchNorm layer is a ghost one.
``recipe_world_size = None`` (the ``b128x1`` and CIFAR-100 configs, or
``--cfg-options recipe_world_size=None``) trains ``batch_size`` images per
process on any number of processes.
"""
from typing import Any

from mmengine.config import Config

from razor_wrn.datasets.device_cifar import device_loader_class
from .distributed import DistributedSetupError

# norm_cfg types that build torch's BatchNorm (mmcv's names and aliases).
BATCH_NORMS = ('BN', 'BN1d', 'BN2d', 'BN3d', 'BatchNorm1d', 'BatchNorm2d',
               'BatchNorm3d')
SYNC_BATCH_NORMS = ('SyncBN', 'MMSyncBN', 'SyncBatchNorm')
# Samplers whose order VirtualRankSampler reproduces for the recipe's ranks.
SAMPLERS = ('DefaultSampler', 'EpochSeededSampler', 'VirtualRankSampler')
# Batch samplers that keep the sampler's order and chunks (the groups).
BATCH_SAMPLERS = ('SeededBatchSampler', )


def recipe_line(recipe_world_size: int, batch_size: int,
                world_size: int) -> str:
    """The one log line that says how the recipe runs, e.g. ``b16x8 recipe
    on 1 process: 128 images per step in 8 BatchNorm groups of 16``."""
    processes = 'process' if world_size == 1 else 'processes'
    line = (f'b{batch_size}x{recipe_world_size} recipe on {world_size} '
            f'{processes}: {batch_size * recipe_world_size} images per step '
            f'in {recipe_world_size} BatchNorm groups of {batch_size}')
    if 1 < world_size < recipe_world_size:
        line += f' ({recipe_world_size // world_size} per process)'
    return line


def apply_train_recipe(cfg: Config, world_size: int) -> None:
    """Set the train loader, its sampler and the trained model's BN configs
    so that ``world_size`` processes train the config's recipe (see the
    module); nothing when ``cfg.recipe_world_size`` is None or missing.

    Args:
        cfg (Config): The run's config, changed in place.
        world_size (int): Processes of this run.

    Raises:
        DistributedSetupError: If ``world_size`` does not divide
            ``recipe_world_size``, or the config's sampler or SyncBN cannot
            follow the recipe; each message names the fix.
    """
    recipe = cfg.get('recipe_world_size')
    if recipe is None:
        return
    opt_out = ('or pass --cfg-options recipe_world_size=None to train '
               'train_dataloader.batch_size images per process instead')
    if not isinstance(recipe, int) or recipe < 1:
        raise DistributedSetupError(
            f'recipe_world_size must be a positive number of processes, got '
            f'{recipe!r}: set the number the recipe was made for (8 for '
            f'b16x8), {opt_out}.')
    loader = cfg.train_dataloader
    batch_size = loader.batch_size
    if recipe % world_size:
        divisors = ', '.join(
            str(n) for n in range(1, recipe + 1) if recipe % n == 0)
        raise DistributedSetupError(
            f'This config is the b{batch_size}x{recipe} recipe '
            f'(recipe_world_size={recipe}), which {world_size} processes '
            f'cannot share: run it on {divisors} processes, {opt_out}.')
    cfg.setdefault('default_hooks', {})['train_recipe'] = dict(
        type='TrainRecipeHook', recipe_world_size=recipe,
        batch_size=batch_size)
    held = recipe // world_size
    if held == 1:
        return
    loader.batch_size = held * batch_size
    if device_loader_class(loader.get('type')) is not None:
        loader.virtual_ranks = dict(world_size=recipe, batch_size=batch_size)
    else:
        sampler = loader.get('sampler') or {}
        batches = loader.get('batch_sampler')
        if sampler.get('type') not in SAMPLERS or (
                batches is not None
                and batches.get('type') not in BATCH_SAMPLERS):
            raise DistributedSetupError(
                f'The b{batch_size}x{recipe} recipe on {world_size} '
                f'process(es) deals the samples of {recipe} ranks itself, '
                f"which needs train_dataloader.sampler of type "
                f"'EpochSeededSampler' or 'DefaultSampler' and no "
                f"batch_sampler but 'SeededBatchSampler', not "
                f"{sampler.get('type')!r} and "
                f"{None if batches is None else batches.get('type')!r}: "
                f'change them, {opt_out}.')
        loader.sampler = dict(
            sampler, type='VirtualRankSampler', recipe_world_size=recipe,
            batch_size=batch_size)
    _ghost_norms(cfg.model, held, 'model')


def _ghost_norms(node: Any, groups: int, path: str) -> None:
    """Turn every BN ``norm_cfg`` under ``node`` into ``GhostBN`` with
    ``groups`` groups, skipping a distillation's frozen ``teacher``."""
    if isinstance(node, (list, tuple)):
        for index, item in enumerate(node):
            _ghost_norms(item, groups, f'{path}.{index}')
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == 'teacher':
            continue  # in eval mode while the student trains
        if key == 'norm_cfg' and isinstance(value, dict):
            if value.get('type') in SYNC_BATCH_NORMS:
                raise DistributedSetupError(
                    f'{path}.norm_cfg is SyncBN, which computes statistics '
                    'over every process, while this config\'s recipe '
                    'normalises each group of train_dataloader.batch_size '
                    'images: use BN (the recipe then emulates the groups), '
                    'or pass --cfg-options recipe_world_size=None.')
            if value.get('type') in BATCH_NORMS:
                node[key] = dict(value, type='GhostBN', num_groups=groups)
            continue
        _ghost_norms(value, groups, f'{path}.{key}')
