"""The ``*_device`` configs: the same experiment as their standard
counterparts with device-resident batches (``DeviceCIFAR10Loader``,
``DeviceCIFAR100Loader``); they train through
tools/train.py, and a checkpoint scores the same under both data pipelines
(evaluation is unaugmented and in file order in both)."""
import json
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

import razor_wrn  # noqa: F401  (compat shim, registries)

REPO = Path(__file__).resolve().parents[2]


def is_b16x8(config: str) -> bool:
    """The reference recipe (8 BatchNorm groups of 16 per step of 128)."""
    return '_b16x8' in Path(config).name


def standard_counterpart(config: str) -> str:
    """The standard config of the same experiment (the KD configs without
    a batch in their name are the b16x8 recipe)."""
    standard = config.replace('_device.py', '.py')
    return standard.replace('_b16x8', '') if '/kd/' in config else standard


DEVICE_CONFIGS = sorted(
    str(p.relative_to(REPO)) for p in REPO.glob('configs/*/*_device.py'))
LOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
# One config per kind (vanilla/kd) and data set: the training test runs
# WRN-10-1 models whatever the config's depth and width, so the other
# vanilla CIFAR-10 device configs would repeat it; the config test below
# checks each of them against its standard counterpart. The b16x8 configs
# differ from the others only in the recipe, tested on its own.
PIPELINE_CONFIGS = sorted({
    (Path(c).parent.name, c.endswith('_cifar100_device.py')): c
    for c in reversed(DEVICE_CONFIGS) if not is_b16x8(c)}.values())


def is_cifar100(config: str) -> bool:
    return config.endswith('_cifar100_device.py')


def model_options(config: str) -> list:
    """WRN-10-1 models (a KD config: teacher and student, no teacher
    checkpoint), which is all a comparison of data pipelines needs."""
    if '/kd/' in config:
        return ['model.teacher_ckpt=None'] + [
            f'model.{part}.backbone.{key}' for part in ('architecture',
                                                       'teacher')
            for key in ('depth=10', 'widen_factor=1')]
    return ['model.backbone.depth=10', 'model.backbone.widen_factor=1']


def device_options(data_root: str, batch_size: int) -> list:
    """--cfg-options pointing the device loaders at tiny data on the CPU."""
    return [f'{loader}.{key}' for loader in LOADER_KEYS for key in (
        f'data_root={data_root}', f'batch_size={batch_size}', 'device=cpu')
            ] + ['default_hooks.logger.interval=1']


@pytest.fixture(scope='module')
def data(make_tiny_cifar10, make_tiny_cifar100):
    """``config -> (data_root, batch size)`` of its data set's tiny copy:
    20 CIFAR-10 images at batch 10, 100 CIFAR-100 images at batch 50 (two
    iterations per epoch)."""
    cifar10 = make_tiny_cifar10(per_class_train=2, per_class_test=1)
    cifar100 = make_tiny_cifar100(per_class_train=1, per_class_test=1)
    return lambda config: (cifar100, 50) if is_cifar100(config) else (
        cifar10, 10)


def test_there_is_a_vanilla_and_a_kd_device_config():
    assert {Path(c).parent.name for c in DEVICE_CONFIGS} == {'vanilla', 'kd'}


@pytest.mark.parametrize('config', DEVICE_CONFIGS)
def test_only_the_loaders_differ(config):
    device = Config.fromfile(REPO / config).to_dict()
    standard = Config.fromfile(REPO / standard_counterpart(config)).to_dict()
    assert device.pop('runner_type') == 'DeviceDataRunner'
    assert 'runner_type' not in standard
    for key in LOADER_KEYS:
        loader, standard_loader = device.pop(key), standard.pop(key)
        assert loader['type'] == ('DeviceCIFAR100Loader' if is_cifar100(
            config) else 'DeviceCIFAR10Loader')
        assert loader['batch_size'] == (
            16 if is_b16x8(config) and key == 'train_dataloader' else
            64 if is_cifar100(config) else 128)
        assert loader['data_root'] == standard_loader['dataset']['data_root']
        train = key == 'train_dataloader'
        assert loader['augment'] is train and loader['shuffle'] is train
        assert loader['split'] == standard_loader['dataset']['split']
    # The b16x8 recipe, or one device's whole batch with BN over all of it
    # (where the KD counterpart is the b16x8 recipe).
    assert device.pop('recipe_world_size') == (8 if is_b16x8(config)
                                               else None)
    assert standard.pop('recipe_world_size') == (
        8 if is_b16x8(config) or '_b' not in Path(config).name else None)
    # Model, distiller, schedule, hooks, evaluators: identical.
    assert device == standard


@pytest.mark.parametrize('config', PIPELINE_CONFIGS)
def test_trains_and_scores_like_the_standard_pipeline(
        config, data, data_options, tools, tmp_path):
    data_root, batch_size = data(config)
    tools['train'].main([
        str(REPO / config), '--work-dir', str(tmp_path), '--cfg-options',
        'train_cfg.max_epochs=1', *model_options(config),
        *device_options(data_root, batch_size)])
    checkpoint = tmp_path / 'epoch_1.pth'
    assert torch.load(checkpoint, weights_only=True)['meta']['iter'] == 2
    scalars = sorted(tmp_path.glob('*/vis_data/scalars.json'))[-1]
    losses = [v for line in scalars.read_text().splitlines()
              for k, v in json.loads(line).items() if k.startswith('loss')]
    assert losses and all(math.isfinite(v) for v in losses)

    device_out, standard_out = tmp_path / 'device.json', tmp_path / 's.json'
    tools['test'].main([str(REPO / config), str(checkpoint), '--work-dir',
                        str(tmp_path), '--out', str(device_out),
                        '--cfg-options', *model_options(config),
                        *device_options(data_root, batch_size)])
    tools['test'].main([str(REPO / standard_counterpart(config)),
                        str(checkpoint), '--work-dir', str(tmp_path), '--out',
                        str(standard_out), '--cfg-options',
                        *model_options(config),
                        *data_options(data_root, batch_size)])
    assert json.loads(device_out.read_text()) == json.loads(
        standard_out.read_text())
