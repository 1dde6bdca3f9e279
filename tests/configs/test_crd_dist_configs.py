"""The CRD config through tools/train.py with WRN-10-1 models: every
image's dataset index reaches the memory banks, ``--resume`` continues
the banks and their normalising constants, and banks sized for another
training set stop the run. The DIST configs' student
classifier starts as the authors'. (test_kd_configs.py trains every KD
config, DIST and CRD included, for two iterations.)"""
import json
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmrazor.registry import MODELS

import razor_wrn  # noqa: F401  (registries)
from conftest import run_tool

CRD = 'configs/kd/crd_wrn40-2_to_wrn16-2.py'
BANK = 'distiller.distill_losses.loss_crd.'
WRN10_1 = [f'model.{m}.{k}' for m in ('architecture', 'teacher')
           for k in ('backbone.depth=10', 'backbone.widen_factor=1')]
# One bank row per training image (20); 18 of them are of other classes
# than any image (two per class), so K = 16 draws without replacement. The
# embedding heads' input widths follow the WRN-10-1 models; a fixed seed
# fixes the initial bank rows.
CRD_OPTIONS = [f'model.{BANK}num_samples=20', f'model.{BANK}num_negatives=16',
               'randomness.seed=0']


@pytest.fixture(scope='module')
def data(make_tiny_cifar10):
    # 20 training images at batch 10: two iterations per epoch.
    return make_tiny_cifar10(per_class_train=2, per_class_test=1)


def _train(tools, config, work_dir, options, *extra):
    tools['train'].main([
        config, '--work-dir', str(work_dir), '--no-validate', *extra,
        '--cfg-options', 'model.teacher_ckpt=None', *WRN10_1, *options])


def _logged_losses(work_dir: Path) -> list:
    scalars = sorted(work_dir.glob('*/vis_data/scalars.json'))[-1]
    rows = [json.loads(line) for line in scalars.read_text().splitlines()]
    return [{k: v for k, v in row.items() if k.startswith('loss')}
            for row in rows if 'loss' in row]


def test_crd_indices_reach_the_banks_and_resume_continues_them(
        data, data_options, tools, tmp_path):
    options = [*CRD_OPTIONS, *data_options(data, 10)]
    _train(tools, CRD, tmp_path, [*options, 'train_cfg.max_epochs=1'])
    rows = _logged_losses(tmp_path)
    assert len(rows) == 2 and all(
        set(r) == {'loss', 'loss_student', 'loss_crd'} and
        all(math.isfinite(v) for v in r.values()) for r in rows), rows
    first = torch.load(tmp_path / 'epoch_1.pth', weights_only=True)
    first = {k[len(BANK):]: v for k, v in first['state_dict'].items()
             if k.startswith(BANK)}
    for bank in ('memory_student', 'memory_teacher'):
        # Every row was updated (unit vectors; random initial rows are not).
        torch.testing.assert_close(first[bank].norm(dim=1), torch.ones(20))
    assert (first['normalizers'] > 0).all()

    # Momentum 1 keeps every row as it is, so the resumed epoch must end
    # with the banks and Z of epoch 1; fresh banks would differ.
    _train(tools, CRD, tmp_path, [*options, 'train_cfg.max_epochs=2',
                                  f'model.{BANK}momentum=1.0'],
           '--resume', str(tmp_path / 'epoch_1.pth'))
    second = torch.load(tmp_path / 'epoch_2.pth', weights_only=True)
    assert second['meta']['iter'] == 4
    for key, value in first.items():
        torch.testing.assert_close(second['state_dict'][BANK + key], value)


def test_banks_of_another_size_than_the_training_set_stop_the_run(
        data, data_options, tools, tmp_path, capsys):
    code, (_, err) = run_tool(tools['train'], [
        CRD, '--work-dir', str(tmp_path), '--no-validate', '--cfg-options',
        'model.teacher_ckpt=None', *WRN10_1, f'model.{BANK}num_samples=24',
        'train_cfg.max_epochs=1', *data_options(data, 10)], capsys)
    assert code == 1
    assert err.startswith(
        'ERROR: CRD: the training set has 20 images but the memory banks '
        f'have num_samples=24 rows; set model.{BANK}num_samples=20 ')
    assert not list(tmp_path.glob('epoch_*.pth'))


@pytest.mark.parametrize('config', [
    'configs/kd/dist_wrn40-2_to_wrn16-2.py',
    'configs/kd/dist_wrn40-2_to_wrn16-2_cifar100.py',
    'configs/kd/dist_wrn40-2_to_wrn40-1_cifar100.py'])
def test_dist_student_classifier_starts_as_the_authors(config):
    """DIST's gradient grows as 1 / the spread of the logits: its student's
    classifier starts from nn.Linear's U(+-1/sqrt(fan_in)) with zero bias
    (the authors' CIFAR WRN), not mmpretrain's N(0, 0.01)."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict({'model.teacher_ckpt': None,
                         'model.architecture.backbone.depth': 10,
                         'model.architecture.backbone.widen_factor': 1,
                         'model.teacher.backbone.depth': 10})
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    fc = model.student.head.fc
    bound = fc.in_features**-0.5
    assert fc.in_features == 64  # the WRN-10-1 student
    assert fc.bias.abs().max().item() == 0
    assert fc.weight.abs().max().item() <= bound
    # Uniform: std bound / sqrt(3) (mmpretrain's default: 0.01).
    assert fc.weight.std().item() == pytest.approx(bound / math.sqrt(3),
                                                   rel=0.1)
