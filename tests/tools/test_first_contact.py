"""What a new user sees: a 1-epoch distillation through tools/train.py in
a process of its own (its real console), started from a plain classifier
checkpoint (``load_from``), and the default teacher URL without network."""
import os
import sys
import urllib.error
import warnings

import pytest
import torch
from mmpretrain.registry import MODELS

import razor_wrn
from conftest import Forked, run_tool
from razor_wrn.cli import load_config, run_cli

KD = 'configs/kd/wrn40-2_to_wrn16-2.py'
VANILLA = 'configs/vanilla/wrn16-w2_b128x1_cifar10.py'
TINY_PAIR = [f'model.{net}.backbone.{key}={value}'
             for net in ('architecture', 'teacher')
             for key, value in (('depth', 10), ('widen_factor', 1))]
# Kept after 1 epoch by lr 0 (SGD's update and weight decay are both lr x).
FROZEN = ['optim_wrapper.optimizer.lr=0']


def _classifier_checkpoint(path, seed: int) -> dict:
    """Save a WRN-10-1 classifier of the vanilla config, drawn from
    ``seed``, as tools/train.py does; return its state dict."""
    cfg = load_config(VANILLA, {'model.backbone.depth': 10,
                                'model.backbone.widen_factor': 1})
    torch.manual_seed(seed)
    state = MODELS.build(cfg.model).state_dict()
    torch.save({'meta': {'epoch': 1}, 'state_dict': state}, path)
    return state


def _train_with_umask(main, argv: list, umask: int) -> None:
    """``tools/train.py`` in a forked child, with the umask ``umask`` and
    warnings printed as a plain interpreter does (not pytest's capture,
    which the child inherits)."""
    os.umask(umask)
    warnings.simplefilter('default')
    warnings.showwarning = lambda message, category, filename, lineno, \
        file=None, line=None: sys.stderr.write(warnings.formatwarning(
            message, category, filename, lineno, line))
    run_cli(main, argv)


@pytest.fixture(scope='module')
def kd_run(tmp_path_factory, make_tiny_cifar10, data_options, tools):
    """One forked 1-epoch KD run of WRN-10-1 -> WRN-10-1 on 20 images, the
    student starting from a classifier checkpoint, umask 027."""
    folder = tmp_path_factory.mktemp('first_contact')
    teacher = _classifier_checkpoint(folder / 'teacher.pth', seed=1)
    student = _classifier_checkpoint(folder / 'student.pth', seed=2)
    work_dir = folder / 'run'
    data = make_tiny_cifar10(per_class_train=2, per_class_test=1)
    code, output = Forked(_train_with_umask, tools['train'].main, [
        KD, '--work-dir', str(work_dir), '--cfg-options',
        'train_cfg.max_epochs=1', f'model.teacher_ckpt={folder}/teacher.pth',
        f'load_from={folder}/student.pth', *TINY_PAIR, *FROZEN,
        *data_options(data, 10)], 0o027).wait()
    assert code == 0, output
    return dict(output=output, work_dir=work_dir, teacher=teacher,
                student=student)


def test_load_from_a_classifier_starts_the_student_from_it(kd_run):
    weights = torch.load(kd_run['work_dir'] / 'epoch_1.pth',
                         weights_only=True)['state_dict']
    # BN statistics move in a training epoch, weights do not at lr 0.
    moved = ('running_mean', 'running_var', 'num_batches_tracked')
    for part, expected in (('architecture.', kd_run['student']),
                           ('teacher.', kd_run['teacher'])):
        for key, value in expected.items():
            if not key.endswith(moved):
                assert torch.equal(weights[part + key], value), part + key
    assert 'loaded onto the student (model.architecture)' in kd_run['output']


def test_saved_files_honour_the_umask(kd_run):
    work_dir = kd_run['work_dir']
    for name in ('epoch_1.pth', 'best_accuracy_top1_epoch_1.pth',
                 'last_checkpoint', 'wrn40-2_to_wrn16-2.py'):
        assert (work_dir / name).stat().st_mode & 0o777 == 0o640, name


def test_the_console_of_a_one_epoch_distillation_is_short(kd_run):
    output, work_dir = kd_run['output'], kd_run['work_dir']
    lines = output.splitlines()
    assert len(lines) <= 40, output
    for noise in ('System environment', 'model = dict(', 'Hooks will be',
                  'FileClient', 'HardDiskBackend'):
        assert noise not in output, noise
    assert output.count('CIFARChecksumWarning') == 1
    # The config and the environment are in the work dir instead.
    log, = work_dir.glob('*/*.log')
    assert f'Config: {work_dir}/wrn40-2_to_wrn16-2.py; environment, config ' \
        f'and hooks: {log}' in output
    assert 'System environment' in log.read_text()
    assert "type='FrozenTeacherDistill'" in log.read_text()
    assert "type='FrozenTeacherDistill'" in (
        work_dir / 'wrn40-2_to_wrn16-2.py').read_text()


def test_offline_the_default_teacher_url_says_how_to_pass_a_teacher(
        tools, tmp_path, capsys, monkeypatch):
    def offline(url, *args, **kwargs):
        raise urllib.error.URLError('[Errno -2] Name or service not known')

    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    monkeypatch.setattr(torch.hub, 'download_url_to_file', offline)
    work_dir = tmp_path / 'run'
    code, (out, err) = run_tool(tools['train'], [KD, '--work-dir',
                                                 str(work_dir)], capsys)
    url = load_config(KD).model.teacher_ckpt
    assert (code, out) == (1, '')
    assert err == (
        f'ERROR: Could not download checkpoint {url}: <urlopen error [Errno '
        '-2] Name or service not known>. Check the URL and your network, or '
        'download the file yourself and pass its local path instead. To '
        'train without network access, download it elsewhere (or train a '
        'teacher with its vanilla config) and pass --cfg-options '
        'model.teacher_ckpt=PATH.\n')
    assert not work_dir.exists()


def test_mmcv_lites_missing_op_warning_is_not_shown():
    # What mmcv-lite's transformer bricks warn in every tool at import
    # (pytest's own warning capture drops the filters set while it
    # collected, so they are set again here as importing razor_wrn does).
    with warnings.catch_warnings(record=True) as record:
        razor_wrn.hide_known_warnings()
        warnings.warn_explicit(
            'Fail to import ``MultiScaleDeformableAttention`` from '
            '``mmcv.ops.multi_scale_deform_attn``, You should install '
            '``mmcv`` rather than ``mmcv-lite`` if you need this module. ',
            UserWarning, 'transformer.py', 33, module='mmcv', registry={})
    assert record == []
