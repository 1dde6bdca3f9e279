"""apply_train_recipe: what a b16x8 config becomes on 1 to 8 processes, and
the errors of a recipe that cannot run as configured; TrainRecipeHook's
check of the built model."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config

import razor_wrn  # noqa: F401  (registries)
from razor_wrn.engine.distributed import DistributedSetupError
from razor_wrn.engine.hooks import TrainRecipeHook
from razor_wrn.engine.train_recipe import apply_train_recipe, recipe_line
from razor_wrn.models.norm import GhostBatchNorm

VANILLA = 'configs/vanilla/wrn16-w2_b16x8_cifar10.py'
FITNETS = 'configs/kd/fitnets_wrn40-2_to_wrn16-2.py'


def _recipe(path: str, world_size: int, **changes) -> Config:
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(changes)
    apply_train_recipe(cfg, world_size)
    return cfg


def test_two_processes_take_four_ranks_each():
    cfg = _recipe(VANILLA, 2)
    loader = cfg.train_dataloader
    assert loader.batch_size == 64
    assert loader.sampler == dict(type='VirtualRankSampler', shuffle=True,
                                  recipe_world_size=8, batch_size=16)
    assert cfg.model.backbone.norm_cfg == dict(type='GhostBN', num_groups=4)
    assert cfg.default_hooks.train_recipe == dict(
        type='TrainRecipeHook', recipe_world_size=8, batch_size=16)
    assert cfg.val_dataloader.batch_size == 16  # evaluation is unchanged


def test_a_distillation_ghosts_the_student_and_connectors_not_the_teacher():
    cfg = _recipe(FITNETS, 1, **{'model.teacher.backbone.norm_cfg': dict(
        type='BN')})
    ghost = dict(type='GhostBN', num_groups=8)
    assert cfg.train_dataloader.batch_size == 128
    assert cfg.model.architecture.backbone.norm_cfg == ghost
    connector = cfg.model.distiller.connectors.hint
    assert connector.norm_cfg == ghost
    assert cfg.model.teacher.backbone.norm_cfg == dict(type='BN')


def test_eight_processes_are_the_recipe_itself():
    cfg = _recipe(VANILLA, 8)
    assert cfg.train_dataloader.batch_size == 16
    assert cfg.train_dataloader.sampler.type == 'EpochSeededSampler'
    assert cfg.model.backbone.norm_cfg == dict(type='BN')
    assert 'train_recipe' in cfg.default_hooks  # it still logs the line


def test_without_a_recipe_nothing_changes():
    cfg = _recipe(VANILLA, 1, recipe_world_size=None)
    assert cfg.train_dataloader.batch_size == 16
    assert cfg.model.backbone.norm_cfg == dict(type='BN')
    assert 'train_recipe' not in cfg.default_hooks
    b128 = _recipe('configs/vanilla/wrn16-w2_b128x1_cifar10.py', 1)
    assert b128.train_dataloader.batch_size == 128
    assert 'train_recipe' not in b128.default_hooks


def test_the_device_loader_deals_the_ranks_itself():
    cfg = _recipe('configs/vanilla/wrn16-w2_b128x1_cifar10_device.py', 4,
                  recipe_world_size=8,
                  train_dataloader=dict(batch_size=16))
    assert cfg.train_dataloader.batch_size == 32
    assert cfg.train_dataloader.virtual_ranks == dict(world_size=8,
                                                      batch_size=16)


@pytest.mark.parametrize('config', [
    'configs/vanilla/wrn40-w2_b16x8_cifar10_device.py',
    'configs/kd/ofd_wrn28-4_to_wrn16-2_b16x8_device.py'])
def test_the_b16x8_device_configs_keep_the_recipe_on_one_process(config):
    cfg = _recipe(config, 1)
    loader = cfg.train_dataloader
    assert (loader.type, loader.batch_size) == ('DeviceCIFAR10Loader', 128)
    assert loader.virtual_ranks == dict(world_size=8, batch_size=16)
    student = cfg.model.get('architecture', cfg.model)
    assert student.backbone.norm_cfg == dict(type='GhostBN', num_groups=8)
    if 'teacher' in cfg.model:
        assert cfg.model.teacher.backbone.get('norm_cfg', {}).get(
            'type', 'BN') == 'BN'
        assert all(connector.norm_cfg == student.backbone.norm_cfg
                   for connector in cfg.model.distiller.connectors.values()
                   if 'norm_cfg' in connector)


@pytest.mark.parametrize('world_size, changes, message', [
    (3, {}, 'which 3 processes cannot share: run it on 1, 2, 4, 8 '
            'processes, or pass --cfg-options recipe_world_size=None'),
    (16, {}, 'run it on 1, 2, 4, 8 processes'),
    (2, {'model.backbone.norm_cfg.type': 'SyncBN'},
     'model.backbone.norm_cfg is SyncBN'),
    (2, {'train_dataloader.sampler.type': 'InfiniteSampler'},
     "not 'InfiniteSampler'"),
    (1, {'recipe_world_size': 0}, 'recipe_world_size must be a positive'),
])
def test_a_recipe_that_cannot_run_says_why(world_size, changes, message):
    with pytest.raises(DistributedSetupError) as error:
        _recipe(VANILLA, world_size, **changes)
    assert message in str(error.value)


def test_recipe_line():
    assert recipe_line(8, 16, 1) == ('b16x8 recipe on 1 process: 128 images '
                                     'per step in 8 BatchNorm groups of 16')
    assert recipe_line(8, 16, 4).endswith('groups of 16 (2 per process)')
    assert recipe_line(8, 16, 8).endswith('groups of 16')


def _runner(model: torch.nn.Module) -> SimpleNamespace:
    lines = []
    return SimpleNamespace(model=model, logger=SimpleNamespace(
        info=lines.append), lines=lines)


def test_hook_refuses_a_trained_plain_batch_norm():
    """E.g. a layer built without a norm_cfg, which the config cannot
    turn into a ghost one."""
    model = torch.nn.Sequential(GhostBatchNorm(4, num_groups=8),
                                torch.nn.BatchNorm2d(4))
    with pytest.raises(RuntimeError, match=r'1 trained BatchNorm layer\(s\) '
                       r'\(1, ...\) do not normalise the recipe\'s 8 groups'):
        TrainRecipeHook(8, 16).before_train(_runner(model))


def test_hook_accepts_ghost_layers_and_a_frozen_teacher():
    teacher = torch.nn.BatchNorm2d(4).requires_grad_(False)
    model = torch.nn.ModuleDict(dict(
        student=GhostBatchNorm(4, num_groups=8), teacher=teacher))
    runner = _runner(model)
    TrainRecipeHook(8, 16).before_train(runner)
    assert runner.lines == [recipe_line(8, 16, 1)]
