"""The standard CIFAR-10 / CIFAR-100 loaders collate into one stacked batch,
and the model's data preprocessor turns that into exactly the batch it makes
from mmengine's default per-image list."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import razor_wrn  # noqa: F401  (registries)
from mmpretrain.registry import MODELS

VANILLA = Path(__file__).resolve().parents[2] / 'configs' / 'vanilla'


@pytest.mark.filterwarnings('ignore::UserWarning')
@pytest.mark.parametrize('config,data', [
    ('wrn16-w2_b128x1_cifar10.py', 'tiny_cifar10'),
    ('wrn16-w2_b64x1_cifar100.py', 'tiny_cifar100'),
])
def test_stacked_collate_preprocesses_like_the_per_image_list(
        request, config, data):
    cfg = Config.fromfile(VANILLA / config)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        for key in ('train_dataloader', 'val_dataloader'):
            assert cfg[key].collate_fn == dict(type='default_collate')
        loader_cfg = dict(cfg.val_dataloader, num_workers=0,
                          persistent_workers=False, batch_size=6)
        loader_cfg['dataset'] = dict(loader_cfg['dataset'],
                                     data_root=request.getfixturevalue(data))
        loader = Runner.build_dataloader(loader_cfg, seed=0)
        samples = [loader.dataset[i] for i in range(6)]
        stacked = next(iter(loader))
        per_image = pseudo_collate(samples)
        preprocessor = MODELS.build(cfg.model).data_preprocessor

    assert isinstance(stacked['inputs'], torch.Tensor)
    assert stacked['inputs'].dtype == torch.uint8
    assert stacked['inputs'].shape == (6, 3, 32, 32)
    assert isinstance(per_image['inputs'], list)
    from_stacked = preprocessor(stacked, training=True)
    from_list = preprocessor(per_image, training=True)
    assert torch.equal(from_stacked['inputs'], from_list['inputs'])
    assert from_stacked['inputs'].dtype == torch.float32
    labels = [s.gt_label for s in from_stacked['data_samples']]
    assert torch.equal(torch.cat(labels), torch.cat(
        [s.gt_label for s in from_list['data_samples']]))
