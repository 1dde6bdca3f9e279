"""The ``*_device`` configs: the same experiment as their standard
counterparts with ``DeviceCIFAR10Loader`` batches; they train through
tools/train.py, and a checkpoint scores the same under both data pipelines
(evaluation is unaugmented and in file order in both)."""
import json
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

import razor_wrn  # noqa: F401  (compat shim, registries)

DEVICE_CONFIGS = sorted(
    str(p) for p in Path('configs').glob('*/*_device.py'))
LOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def standard_counterpart(config: str) -> str:
    return config.replace('_device.py', '.py')


def device_options(data_root: str, batch_size: int) -> list:
    """--cfg-options pointing the device loaders at tiny data on the CPU."""
    return [f'{loader}.{key}' for loader in LOADER_KEYS for key in (
        f'data_root={data_root}', f'batch_size={batch_size}', 'device=cpu')
            ] + ['default_hooks.logger.interval=1']


@pytest.fixture(scope='module')
def data(make_tiny_cifar10):
    # 20 training images at batch 10: two iterations per epoch.
    return make_tiny_cifar10(per_class_train=2, per_class_test=1)


def test_there_is_a_vanilla_and_a_kd_device_config():
    assert {Path(c).parent.name for c in DEVICE_CONFIGS} == {'vanilla', 'kd'}


@pytest.mark.parametrize('config', DEVICE_CONFIGS)
def test_only_the_loaders_differ(config):
    device = Config.fromfile(config).to_dict()
    standard = Config.fromfile(standard_counterpart(config)).to_dict()
    assert device.pop('runner_type') == 'DeviceDataRunner'
    assert 'runner_type' not in standard
    for key in LOADER_KEYS:
        loader = device.pop(key)
        assert loader['type'] == 'DeviceCIFAR10Loader'
        assert loader['batch_size'] == 128
        train = key == 'train_dataloader'
        assert loader['augment'] is train and loader['shuffle'] is train
        assert loader['split'] == standard.pop(key)['dataset']['split']
    # Model, distiller, schedule, hooks, evaluators: identical.
    assert device == standard


@pytest.mark.parametrize('config', DEVICE_CONFIGS)
def test_trains_and_scores_like_the_standard_pipeline(
        config, data, data_options, tools, tmp_path):
    teacher = ['model.teacher_ckpt=None'] if '/kd/' in config else []
    tools['train'].main([
        config, '--work-dir', str(tmp_path), '--cfg-options',
        'train_cfg.max_epochs=1', *teacher, *device_options(data, 10)])
    checkpoint = tmp_path / 'epoch_1.pth'
    assert torch.load(checkpoint, weights_only=True)['meta']['iter'] == 2
    scalars = sorted(tmp_path.glob('*/vis_data/scalars.json'))[-1]
    losses = [v for line in scalars.read_text().splitlines()
              for k, v in json.loads(line).items() if k.startswith('loss')]
    assert losses and all(math.isfinite(v) for v in losses)

    device_out, standard_out = tmp_path / 'device.json', tmp_path / 's.json'
    tools['test'].main([config, str(checkpoint), '--work-dir', str(tmp_path),
                        '--out', str(device_out), '--cfg-options',
                        *device_options(data, 10)])
    tools['test'].main([standard_counterpart(config), str(checkpoint),
                        '--work-dir', str(tmp_path), '--out',
                        str(standard_out), '--cfg-options',
                        *data_options(data, 10)])
    assert json.loads(device_out.read_text()) == json.loads(
        standard_out.read_text())
