"""A distillation config's teacher/student pair changes by depth and width
alone: the connectors' channels follow the models."""
from pathlib import Path

import pytest
from mmengine.config import Config
from mmrazor.registry import MODELS

import razor_wrn  # noqa: F401

KD = Path(__file__).resolve().parents[2] / 'configs' / 'kd'
PAIRS = [((40, 2), (16, 2)), ((40, 2), (40, 1)), ((28, 4), (16, 2))]
# Connector name -> the stage whose channels it maps (student -> teacher).
CONNECTORS = {
    'fitnets_wrn40-2_to_wrn16-2.py': {'hint': 1},
    'at_wrn40-2_to_wrn16-2.py': {},
    'ofd_wrn28-4_to_wrn16-2.py': {f'bn{s + 1}_student': s for s in range(3)},
}


def _build(config: str, teacher, student):
    cfg = Config.fromfile(KD / config)
    cfg.merge_from_dict({
        'model.teacher_ckpt': None,
        'model.dry_run_shape': None,
        'model.teacher.backbone.depth': teacher[0],
        'model.teacher.backbone.widen_factor': teacher[1],
        'model.architecture.backbone.depth': student[0],
        'model.architecture.backbone.widen_factor': student[1],
    })
    return MODELS.build(cfg.model)


@pytest.mark.parametrize('teacher,student', PAIRS)
@pytest.mark.parametrize('config', sorted(CONNECTORS))
def test_pair_by_depth_and_width_only(config, teacher, student):
    model = _build(config, teacher, student)
    assert (model.teacher.backbone.depth,
            model.teacher.backbone.widen_factor) == teacher
    assert (model.student.backbone.depth,
            model.student.backbone.widen_factor) == student
    assert model.student.head.fc.in_features == 64 * student[1]
    assert model.teacher.head.fc.in_features == 64 * teacher[1]
    for name, stage in CONNECTORS[config].items():
        conv = model.distiller.connectors[name].conv_module.conv
        assert tuple(conv.weight.shape[:2]) == (
            16 * 2**stage * teacher[1], 16 * 2**stage * student[1]), name


def test_set_channels_are_kept_and_checked():
    """A connector whose config sets wrong channels is kept as set, and the
    build-time dry run stops with the mismatch explained."""
    cfg = Config.fromfile(KD / 'fitnets_wrn40-2_to_wrn16-2.py')
    cfg.merge_from_dict({
        'model.teacher_ckpt': None,
        'model.teacher.backbone.depth': 10,
        'model.architecture.backbone.depth': 10,
        'model.distiller.connectors.hint.in_channel': 32})
    with pytest.raises(ValueError, match='does not fit'):
        MODELS.build(cfg.model)
