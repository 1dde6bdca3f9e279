"""Every distillation config trains two iterations on tiny data through
tools/train.py; the student is then evaluated, converted and re-evaluated;
bad teachers stop the run with one message."""
import json
import math
from pathlib import Path

import pytest
import torch

from conftest import run_tool

REPO = Path(__file__).resolve().parents[2]

# The *_device variants differ in their loaders only; test_device_configs.py
# runs them with the options their loaders take, test_cifar100_kd_configs.py
# the *_cifar100 twins on CIFAR-100 data.
KD_CONFIGS = sorted(
    str(p.relative_to(REPO))
    for p in (REPO / 'configs' / 'kd').glob('*.py')
    if not p.stem.endswith(('_device', '_cifar100')))
KD = 'configs/kd/wrn40-2_to_wrn16-2.py'
STUDENT_VANILLA = 'configs/vanilla/wrn16-w2_b16x8_cifar10.py'


@pytest.fixture(scope='module')
def data(make_tiny_cifar10):
    # 20 training images at batch 10: two iterations per epoch.
    return make_tiny_cifar10(per_class_train=2, per_class_test=1)


# Every pair shrunk by depth/width alone: WRN-10-2 teacher, WRN-10-1
# student (the connectors follow).
TINY_PAIR = ['model.teacher.backbone.depth=10',
             'model.teacher.backbone.widen_factor=2',
             'model.architecture.backbone.depth=10',
             'model.architecture.backbone.widen_factor=1']
# CRD's memory banks sized for the tiny data (20 images), not CIFAR.
EXTRA = {'crd_wrn40-2_to_wrn16-2': [
    'model.distiller.distill_losses.loss_crd.num_samples=20',
    'model.distiller.distill_losses.loss_crd.num_negatives=16']}
TINY_VANILLA = ['model.backbone.depth=10', 'model.backbone.widen_factor=2']
TINY_STUDENT = ['model.backbone.depth=10', 'model.backbone.widen_factor=1']


def _train_log_losses(work_dir: Path) -> dict:
    scalars = sorted(work_dir.glob('*/vis_data/scalars.json'))[-1]
    rows = [json.loads(line) for line in scalars.read_text().splitlines()]
    return {k: v for row in rows for k, v in row.items()
            if k.startswith('loss')}


def test_every_config_is_covered():
    assert len(KD_CONFIGS) >= 5, KD_CONFIGS


@pytest.mark.parametrize('config', KD_CONFIGS)
def test_kd_config_trains_two_iterations(config, data, data_options, tools,
                                         tmp_path):
    tools['train'].main([
        config, '--work-dir', str(tmp_path), '--cfg-options',
        'model.teacher_ckpt=None', 'train_cfg.max_epochs=1', *TINY_PAIR,
        *EXTRA.get(Path(config).stem, []), *data_options(data, 10)])
    checkpoint = torch.load(tmp_path / 'epoch_1.pth', weights_only=True)
    assert checkpoint['meta']['iter'] == 2
    losses = _train_log_losses(tmp_path)
    distill_terms = [k for k in losses if k not in ('loss', 'loss_student')]
    assert 'loss_student' in losses and distill_terms, losses
    assert all(math.isfinite(v) for v in losses.values())
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert 'Teacher on the validation set: accuracy/top1' in log
    assert 'teacher/accuracy/top1' in log


@pytest.fixture(scope='module')
def teacher_checkpoint(tmp_path_factory, data, data_options, tools):
    """A WRN-10-2 trained one epoch by the teacher's vanilla config."""
    work_dir = tmp_path_factory.mktemp('teacher')
    tools['train'].main([
        'configs/vanilla/wrn40-w2_b16x8_cifar10.py', '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.max_epochs=1',
        *TINY_VANILLA, *data_options(data, 10)])
    return work_dir / 'epoch_1.pth'


def test_distill_evaluate_convert_reevaluate(teacher_checkpoint, data,
                                             data_options, tools, tmp_path):
    options = data_options(data, 10)
    tools['train'].main([
        KD, '--work-dir', str(tmp_path / 'kd'), '--cfg-options',
        f'model.teacher_ckpt={teacher_checkpoint}', 'train_cfg.max_epochs=1',
        *TINY_PAIR, *options])
    kd_checkpoint = tmp_path / 'kd' / 'epoch_1.pth'
    # The frozen teacher inside the KD checkpoint is the loaded one.
    teacher = torch.load(teacher_checkpoint, weights_only=True)['state_dict']
    kd_state = torch.load(kd_checkpoint, weights_only=True)['state_dict']
    for key, value in teacher.items():
        assert torch.equal(kd_state['teacher.' + key], value), key

    kd_metrics, student_metrics = tmp_path / 'kd.json', tmp_path / 's.json'
    tools['test'].main([KD, str(kd_checkpoint), '--work-dir', str(tmp_path),
                        '--out', str(kd_metrics), '--cfg-options',
                        *TINY_PAIR, *options])
    student = tmp_path / 'student.pth'
    tools['convert'].main([str(kd_checkpoint), str(student)])
    converted = torch.load(student, weights_only=True)['state_dict']
    assert not any(k.startswith(('teacher.', 'architecture.', 'distiller.'))
                   for k in converted)
    tools['test'].main([STUDENT_VANILLA, str(student), '--work-dir',
                        str(tmp_path), '--out', str(student_metrics),
                        '--cfg-options', *TINY_STUDENT, *options])
    assert json.loads(kd_metrics.read_text()) == json.loads(
        student_metrics.read_text())



def test_bad_teachers_stop_before_training(teacher_checkpoint, data,
                                           data_options, tools, tmp_path,
                                           capsys):
    options = ['train_cfg.max_epochs=1', *TINY_PAIR,
               *data_options(data, 10)]
    corrupt = tmp_path / 'corrupt.pth'
    corrupt.write_bytes(teacher_checkpoint.read_bytes()[:1000])
    kd_like = tmp_path / 'kd_like.pth'
    torch.save({'state_dict': {
        'architecture.' + k: v for k, v in torch.load(
            teacher_checkpoint, weights_only=True)['state_dict'].items()}},
        kd_like)
    cases = [
        (tmp_path / 'missing.pth', 'Teacher checkpoint not found'),
        (corrupt, f'ERROR: {str(corrupt)!r} is a truncated or damaged '
         'PyTorch checkpoint (the end of the file is missing). Save or '
         'download it again, or pass another checkpoint.'),
        (kd_like, 'this is a distillation checkpoint'),
        (teacher_checkpoint.parent,
         f'ERROR: Teacher checkpoint {str(teacher_checkpoint.parent)!r} '
         '(model.teacher_ckpt) is a directory, not a checkpoint file. Pass a '
         'checkpoint file in it, probably --cfg-options '
         f'model.teacher_ckpt={teacher_checkpoint} (the one its '
         'last_checkpoint names).'),
    ]
    for checkpoint, message in cases:
        code, (_, err) = run_tool(tools['train'], [
            KD, '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
            f'model.teacher_ckpt={checkpoint}', *options], capsys)
        assert code == 1 and message in err, (checkpoint, err)
    # The right checkpoint for the wrong teacher architecture.
    code, (_, err) = run_tool(tools['train'], [
        KD, '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
        f'model.teacher_ckpt={teacher_checkpoint}',
        *options, 'model.teacher.backbone.depth=16'], capsys)
    assert code == 1
    assert ("the checkpoint's network is a WRN-10-2, the config builds a "
            'WRN-16-2: pass --cfg-options model.teacher.backbone.depth=10 '
            'model.teacher.backbone.widen_factor=2.') in err
    assert not list((tmp_path / 'wd').glob('*.pth'))
