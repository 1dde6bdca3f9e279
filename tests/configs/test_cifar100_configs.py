"""The vanilla CIFAR-100 configs: the distillation benchmark's recipe, and
each trains through tools/train.py and scores through tools/test.py on
synthetic CIFAR-100 files."""
import json
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

import razor_wrn  # noqa: F401  (compat shim, registries)

REPO = Path(__file__).resolve().parents[2]
# config -> (depth, widen_factor)
VANILLA = {
    'wrn40-w2_b64x1_cifar100.py': (40, 2),
    'wrn16-w2_b64x1_cifar100.py': (16, 2),
    'wrn40-w1_b64x1_cifar100.py': (40, 1),
}
# RepDistiller's / mdistiller's CIFAR-100 normalisation, in [0, 1] units.
MEAN, STD = (0.5071, 0.4867, 0.4408), (0.2675, 0.2565, 0.2761)
# WRN-10-1 keeps the runs to seconds; the configs are otherwise unchanged.
TINY_WRN = ['model.backbone.depth=10', 'model.backbone.widen_factor=1']


def _path(config: str) -> str:
    return str(REPO / 'configs' / 'vanilla' / config)


def test_every_standard_cifar100_vanilla_config_is_checked():
    found = {p.name for p in (REPO / 'configs' / 'vanilla').glob(
        '*_cifar100.py')}
    assert found == set(VANILLA)


@pytest.mark.parametrize('config', sorted(VANILLA))
def test_the_benchmark_recipe(config):
    cfg = Config.fromfile(_path(config))
    depth, width = VANILLA[config]
    model = cfg.model
    assert (model.backbone.depth, model.backbone.widen_factor) == (depth,
                                                                  width)
    assert 'in_channels' not in model.head  # follows the backbone
    assert model.head.num_classes == model.data_preprocessor.num_classes \
        == 100
    assert model.data_preprocessor.mean == pytest.approx(
        [255 * m for m in MEAN], abs=1e-9)
    assert model.data_preprocessor.std == pytest.approx(
        [255 * s for s in STD], abs=1e-9)
    for key, split in (('train_dataloader', 'train'),
                       ('val_dataloader', 'test'),
                       ('test_dataloader', 'test')):
        loader = cfg[key]
        assert loader.batch_size == 64
        assert (loader.dataset.type, loader.dataset.data_root,
                loader.dataset.split) == ('LenientCIFAR100', 'data/cifar100',
                                          split)
    assert [t['type'] for t in cfg.train_dataloader.dataset.pipeline] == [
        'SeededRandomCropFlip', 'PackInputs']
    assert cfg.train_dataloader.dataset.pipeline[0] == dict(
        type='SeededRandomCropFlip', crop_size=32, padding=4, flip_prob=0.5)
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4)
    assert cfg.param_scheduler == dict(
        type='MultiStepLR', by_epoch=True, milestones=[150, 180, 210],
        gamma=0.1)
    assert cfg.train_cfg.max_epochs == 240
    assert cfg.auto_scale_lr.base_batch_size == 64


@pytest.fixture(scope='module')
def data(make_tiny_cifar100):
    return make_tiny_cifar100(per_class_train=1, per_class_test=1)


def _tiny_options(data_root, data_options):
    """The first 20 images of each split (BaseDataset's ``indices``) at
    batch 10: two training iterations per epoch, on WRN-10-1."""
    return data_options(data_root, 10) + TINY_WRN + [
        f'{loader}_dataloader.dataset.indices=20'
        for loader in ('train', 'val', 'test')]


@pytest.mark.filterwarnings('ignore::UserWarning')
# The three configs differ in depth and width only, which the run overrides
# (test_the_benchmark_recipe and test_vanilla_configs.py check the rest).
@pytest.mark.parametrize('config', ['wrn16-w2_b64x1_cifar100.py'])
def test_trains_two_iterations_and_tests(config, data, data_options, tools,
                                         tmp_path):
    options = _tiny_options(data, data_options)
    tools['train'].main([_path(config), '--work-dir', str(tmp_path),
                         '--cfg-options', 'train_cfg.max_epochs=1',
                         *options])
    checkpoint = torch.load(tmp_path / 'epoch_1.pth', weights_only=True)
    assert checkpoint['meta']['iter'] == 2
    assert checkpoint['state_dict']['head.fc.weight'].shape == (100, 64)
    scalars = [json.loads(line) for line in sorted(
        tmp_path.glob('*/vis_data/scalars.json'))[-1].read_text().split('\n')
        if line]
    losses = [s['loss'] for s in scalars if 'loss' in s]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    # The head starts near zero (Normal std 0.01): chance over 100 classes.
    assert losses[0] == pytest.approx(math.log(100), abs=0.2)

    out = tmp_path / 'metrics.json'
    tools['test'].main([_path(config), str(tmp_path / 'epoch_1.pth'),
                        '--work-dir', str(tmp_path), '--out', str(out),
                        '--cfg-options', *options])
    metrics = json.loads(out.read_text())
    validated = [s for s in scalars if 'accuracy/top1' in s][-1]
    assert set(metrics) == {'accuracy/top1', 'accuracy/top5'}
    assert metrics['accuracy/top1'] == pytest.approx(
        validated['accuracy/top1'])
