"""The CIFAR-100 distillation configs: every method of configs/kd/ for
WRN-40-2 -> WRN-16-2 and WRN-40-2 -> WRN-40-1, each its CIFAR-10 method on
the benchmark's recipe; each trains two iterations through tools/train.py
on synthetic CIFAR-100 files; a distillation checkpoint is evaluated,
converted and evaluated again."""
import json
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from conftest import run_tool

REPO = Path(__file__).resolve().parents[2]
KD = REPO / 'configs' / 'kd'
# Each CIFAR-10 method config and its CIFAR-100 name (the WRN-40-1 twin
# has wrn40-1 in place of wrn16-2).
METHODS = {
    'wrn40-2_to_wrn16-2.py': 'wrn40-2_to_wrn16-2_cifar100.py',
    'fitnets_wrn40-2_to_wrn16-2.py': 'fitnets_wrn40-2_to_wrn16-2_cifar100.py',
    'at_wrn40-2_to_wrn16-2.py': 'at_wrn40-2_to_wrn16-2_cifar100.py',
    'dkd_wrn40-2_to_wrn16-2.py': 'dkd_wrn40-2_to_wrn16-2_cifar100.py',
    'ofd_wrn28-4_to_wrn16-2.py': 'ofd_wrn40-2_to_wrn16-2_cifar100.py',
    'crd_wrn40-2_to_wrn16-2.py': 'crd_wrn40-2_to_wrn16-2_cifar100.py',
    'dist_wrn40-2_to_wrn16-2.py': 'dist_wrn40-2_to_wrn16-2_cifar100.py',
    'reviewkd_wrn40-2_to_wrn16-2.py':
        'reviewkd_wrn40-2_to_wrn16-2_cifar100.py',
}
TWINS = {  # CIFAR-100 config -> (its CIFAR-10 method, student depth, width)
    twin.replace('wrn16-2', student): (cifar10, depth, width)
    for cifar10, twin in METHODS.items()
    for student, depth, width in (('wrn16-2', 16, 2), ('wrn40-1', 40, 1))
}
TEACHER = 'work_dirs/wrn40-w2_b64x1_cifar100/epoch_240.pth'
# WRN-10-2 teacher, WRN-10-1 student: the pairs differ by depth and width
# only, which test_the_twin_is_its_method_on_the_benchmark_recipe checks.
TINY_PAIR = ['model.teacher.backbone.depth=10',
             'model.teacher.backbone.widen_factor=2',
             'model.architecture.backbone.depth=10',
             'model.architecture.backbone.widen_factor=1']


def test_every_method_has_both_cifar100_pairs():
    assert {p.name for p in KD.glob('*_cifar100.py')} == set(TWINS)
    # The CPU-sized pair is Hinton KD again, with no CIFAR-100 twin.
    assert set(METHODS) == {p.name for p in KD.glob('*.py')
                            if not p.stem.endswith(('_device', '_cifar100'))
                            and p.name != 'wrn16-2_to_wrn10-1.py'}


# nn.Linear's own init with a zero bias: the classifier of RepDistiller's
# and mdistiller's CIFAR WRN.
LINEAR_INIT = dict(type='Kaiming', layer='Linear', a=5**0.5, mode='fan_in',
                   nonlinearity='leaky_relu', distribution='uniform', bias=0)


@pytest.mark.parametrize('twin', sorted(TWINS))
def test_the_twin_is_its_method_on_the_benchmark_recipe(twin):
    """The CIFAR-100 twin is its CIFAR-10 method except for the named
    differences from MMRazor's definitions, each as upstream's CIFAR-100
    code: DKD's beta, FitNets' ReLU, OFD's teacher BN statistics and the
    classifier's init."""
    cifar10, depth, width = TWINS[twin]
    ours, theirs = (Config.fromfile(KD / name) for name in (twin, cifar10))
    student, teacher = ours.model.architecture, ours.model.teacher
    if twin.startswith('dkd_'):  # mdistiller's CIFAR-100 WRN setting
        theirs.model.distiller.distill_losses.loss_dkd.beta = 6.0
    if twin.startswith('fitnets_'):  # ConvReg: conv + BN + ReLU
        assert theirs.model.distiller.connectors.hint.act_cfg is None
        theirs.model.distiller.connectors.hint.act_cfg = dict(type='ReLU')
    assert ours.model.distiller == theirs.model.distiller
    assert ours.model.get('teacher_bn_stats', 'running') == (
        'batch' if twin.startswith('ofd_') else 'running')
    assert theirs.model.get('teacher_bn_stats', 'running') == 'running'
    assert student.head.loss == theirs.model.architecture.head.loss
    assert student.head.init_cfg == LINEAR_INIT
    assert (student.backbone.depth, student.backbone.widen_factor) == (
        depth, width)
    assert (teacher.backbone.depth, teacher.backbone.widen_factor) == (40, 2)
    for model in (student, teacher):
        assert model.head.num_classes == 100
        assert model.data_preprocessor.num_classes == 100
        assert model.data_preprocessor.mean == pytest.approx(
            [129.3105, 124.1085, 112.404])
    assert ours.model.teacher_ckpt == TEACHER
    assert ours.train_dataloader.dataset.type == 'LenientCIFAR100'
    assert ours.train_dataloader.batch_size == 64
    assert ours.optim_wrapper.optimizer.lr == 0.05
    assert ours.param_scheduler.milestones == [150, 180, 210]
    assert ours.train_cfg.max_epochs == 240
    assert ours.val_cfg == theirs.val_cfg == dict(
        type='TeacherStudentValLoop')
    assert ours.default_hooks == theirs.default_hooks


@pytest.mark.parametrize('config', [
    *(f'kd/{twin}' for twin in sorted(TWINS)),
    'vanilla/wrn16-w2_b64x1_cifar100.py', 'vanilla/wrn40-w1_b64x1_cifar100.py',
    'vanilla/wrn40-w2_b64x1_cifar100.py'])
def test_cifar100_classifiers_start_as_nn_linear(config):
    """Every CIFAR-100 classifier's linear layer starts exactly as
    ``nn.Linear``'s own ``reset_parameters`` draws its weight (Kaiming
    uniform, a = sqrt(5)), with a zero bias (RepDistiller's models/wrn.py);
    mmpretrain's N(0, 0.01) would fail."""
    from mmpretrain.registry import MODELS as CLS_MODELS
    cfg = Config.fromfile(REPO / 'configs' / config)
    model = cfg.model.architecture if 'architecture' in cfg.model \
        else cfg.model
    # The classifier sets the head's width from the backbone.
    head = CLS_MODELS.build(dict(model.head, in_channels=128))
    torch.manual_seed(5)
    head.init_weights()
    torch.manual_seed(5)
    reference = torch.nn.Linear(head.fc.in_features, head.fc.out_features)
    assert torch.equal(head.fc.weight, reference.weight)
    assert torch.equal(head.fc.bias, torch.zeros(head.fc.out_features))


@pytest.fixture(scope='module')
def data(make_tiny_cifar100):
    return make_tiny_cifar100(per_class_train=1, per_class_test=1)


@pytest.fixture(scope='module')
def options(data, data_options):
    """The first 20 images of each split at batch 10: two iterations."""
    return data_options(data, 10) + [
        f'{loader}_dataloader.dataset.indices=20'
        for loader in ('train', 'val', 'test')]


def _losses(work_dir: Path) -> dict:
    scalars = sorted(work_dir.glob('*/vis_data/scalars.json'))[-1]
    rows = [json.loads(line) for line in scalars.read_text().splitlines()]
    return {k: v for row in rows for k, v in row.items()
            if k.startswith('loss')}


# The tiny pair (TINY_PAIR) replaces both pairs' depths and widths, and the
# twins differ by those alone (the test above), so one pair per method
# trains the same code as both.
@pytest.mark.filterwarnings('ignore::UserWarning')
@pytest.mark.parametrize('twin', sorted(t for t in TWINS if 'wrn16-2' in t))
def test_trains_two_iterations(twin, options, tools, tmp_path):
    crd = ['model.distiller.distill_losses.loss_crd.num_samples=20',
           'model.distiller.distill_losses.loss_crd.num_negatives=16'] \
        if twin.startswith('crd_') else []
    tools['train'].main([
        str(KD / twin), '--work-dir', str(tmp_path), '--cfg-options',
        'model.teacher_ckpt=None', 'train_cfg.max_epochs=1', *TINY_PAIR,
        *crd, *options])
    checkpoint = torch.load(tmp_path / 'epoch_1.pth', weights_only=True)
    assert checkpoint['meta']['iter'] == 2
    assert checkpoint['state_dict'][
        'architecture.head.fc.weight'].shape == (100, 64)
    losses = _losses(tmp_path)
    expected = set(Config.fromfile(
        KD / twin).model.distiller.distill_losses)
    assert set(losses) == {'loss', 'loss_student'} | expected
    assert all(math.isfinite(v) for v in losses.values())


@pytest.mark.filterwarnings('ignore::UserWarning')
def test_a_cifar100_distillation_is_tested_and_converted(options, tools,
                                                         tmp_path, capsys):
    twin = str(KD / 'dkd_wrn40-2_to_wrn40-1_cifar100.py')
    # Without the default teacher (not trained here): one line on how to
    # get one, before a run (and its work dir) starts.
    code, (out, err) = run_tool(tools['train'], [
        twin, '--work-dir', str(tmp_path / 'none'), '--cfg-options',
        *TINY_PAIR, *options], capsys)
    assert code == 1 and out == ''
    assert err.startswith(f"ERROR: Teacher checkpoint not found: '{TEACHER}'")
    assert 'convert_cifar_zoo_wrn.py' in err and len(err.splitlines()) == 1
    assert not (tmp_path / 'none').exists()

    tools['train'].main([
        'configs/vanilla/wrn40-w2_b64x1_cifar100.py', '--work-dir',
        str(tmp_path / 'teacher'), '--cfg-options', 'train_cfg.max_epochs=1',
        'model.backbone.depth=10', *options])
    teacher = tmp_path / 'teacher' / 'epoch_1.pth'
    # The right folder, another epoch: the message shows what is there.
    code, (_, err) = run_tool(tools['train'], [
        twin, '--cfg-options',
        f'model.teacher_ckpt={tmp_path / "teacher" / "epoch_240.pth"}',
        *TINY_PAIR, *options], capsys)
    assert code == 1
    assert f'{tmp_path / "teacher"} holds ' in err and ' epoch_1.pth' in err
    tools['train'].main([
        twin, '--work-dir', str(tmp_path / 'kd'), '--cfg-options',
        f'model.teacher_ckpt={teacher}', 'train_cfg.max_epochs=1',
        *TINY_PAIR, *options])
    kd_checkpoint = tmp_path / 'kd' / 'epoch_1.pth'
    kd_metrics, student_metrics = tmp_path / 'kd.json', tmp_path / 's.json'
    tools['test'].main([twin, str(kd_checkpoint), '--work-dir',
                        str(tmp_path), '--out', str(kd_metrics),
                        '--cfg-options', *TINY_PAIR, *options])
    student = tmp_path / 'student.pth'
    tools['convert'].main([str(kd_checkpoint), str(student)])
    tools['test'].main([
        'configs/vanilla/wrn40-w1_b64x1_cifar100.py', str(student),
        '--work-dir', str(tmp_path), '--out', str(student_metrics),
        '--cfg-options', 'model.backbone.depth=10', *options])
    scores = json.loads(kd_metrics.read_text())
    assert set(scores) == {'accuracy/top1', 'accuracy/top5'}
    assert scores == json.loads(student_metrics.read_text())
