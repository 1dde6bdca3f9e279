"""Every vanilla config builds the model its name says, with the batch its
name says (WRN-{depth}-{width}, b{batch}x{gpus}, data set)."""
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

import razor_wrn  # noqa: F401

VANILLA = sorted((Path(__file__).resolve().parents[2] / 'configs' /
                  'vanilla').glob('*.py'))
# Parameter counts: the reference models (10 classes) as MMRazor's; with 100
# classes the head has 90 * (64k + 1) more.
PARAMS = {(10, 1, 10): 77_850, (16, 2, 10): 691_674, (22, 4, 10): 4_298_970,
          (28, 4, 10): 5_849_050, (40, 2, 10): 2_243_546,
          (16, 2, 100): 703_284, (40, 2, 100): 2_255_156,
          (40, 1, 100): 569_780}
NAME = re.compile(r'wrn(\d+)-w(\d+)_b(\d+)x(\d+)_cifar(10|100)(_device)?')


def test_names_parse():
    assert len(VANILLA) >= 13
    assert all(NAME.fullmatch(p.stem) for p in VANILLA), VANILLA


@pytest.mark.parametrize('path', VANILLA, ids=lambda p: p.stem)
def test_config_builds_what_its_name_says(path):
    depth, width, batch, _, classes, _ = NAME.fullmatch(path.stem).groups()
    depth, width, classes = int(depth), int(width), int(classes)
    cfg = Config.fromfile(path)
    assert cfg.train_dataloader.batch_size == int(batch)
    with torch.device('meta'):  # shapes only
        model = MODELS.build(cfg.model)
    assert (model.backbone.depth, model.backbone.widen_factor) == (depth,
                                                                   width)
    assert model.head.fc.out_features == classes
    assert model.data_preprocessor.num_classes == classes
    assert sum(p.numel() for p in model.parameters()) == PARAMS[
        (depth, width, classes)]
