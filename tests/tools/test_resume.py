"""--resume through tools/train.py: the current config's schedule, forks that
leave the original run alone, strict weights, damaged checkpoints."""
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from conftest import run_tool
from razor_wrn.checkpoint import CheckpointError
from razor_wrn.resume import resume_checkpoint

VANILLA = 'configs/vanilla/wrn16-w2_b128x1_cifar10.py'
TINY_WRN = ['model.backbone.depth=10', 'model.backbone.widen_factor=1']



def _shas(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def _epoch_lrs(work_dir: Path) -> dict:
    """{epoch: set of lrs logged in its training iterations}, from the
    newest run's scalars.json (2 iterations per epoch)."""
    scalars = sorted(work_dir.glob('*/vis_data/scalars.json'))[-1]
    lrs = {}
    for line in scalars.read_text().splitlines():
        record = json.loads(line)
        if 'lr' in record:
            lrs.setdefault((record['iter'] - 1) // 2 + 1, set()).add(
                round(record['lr'], 10))
    return lrs


@pytest.fixture(scope='module')
def run_a(tmp_path_factory, make_tiny_cifar10, data_options, tools):
    """Run A: 1 epoch (2 iterations) of WRN-10-1, milestones [1, 2].

    Its best score is then lowered to -1 in the saved run state, so that
    any run resumed from it makes a new best (the case where mmengine
    deleted A's best checkpoint)."""
    data = make_tiny_cifar10(per_class_train=2, per_class_test=1)
    work_dir = tmp_path_factory.mktemp('run_a')
    options = data_options(data, 10) + TINY_WRN + [
        'param_scheduler.milestones=[1,2]']
    tools['train'].main([VANILLA, '--work-dir', str(work_dir),
                         '--cfg-options', 'train_cfg.max_epochs=1',
                         *options])
    path = work_dir / 'epoch_1.pth'
    checkpoint = torch.load(path, weights_only=True)
    checkpoint['message_hub']['runtime_info']['best_score'] = -1.0
    torch.save(checkpoint, path)
    return dict(work_dir=work_dir, options=options)


def test_fork_follows_the_longer_schedule_and_leaves_the_original_alone(
        run_a, tools, tmp_path, capsys):
    a, b = run_a['work_dir'], tmp_path / 'b'
    before = _shas(a)
    assert 'best_accuracy_top1_epoch_1.pth' in before
    code, out = run_tool(tools['train'], [
        VANILLA, '--resume', str(a / 'epoch_1.pth'), '--work-dir', str(b),
        '--cfg-options', 'train_cfg.max_epochs=3', *run_a['options']],
        capsys)
    assert code == 0
    # lr 0.1 * 0.1 ** (milestones passed): mmengine kept 0.1, the end of
    # the 1-epoch schedule.
    assert _epoch_lrs(b) == {2: {0.01}, 3: {0.001}}
    log = sorted(b.glob('*/*.log'))[-1].read_text()
    assert ('Resuming with the optimizer and schedule of the current config, '
            'not those saved in the checkpoint: lr: 0.1 -> '
            '0.010000000000000002; MultiStepLR.end: 1 -> 3') in log
    assert f'best_ckpt={a}/best_accuracy_top1_epoch_1.pth' in log
    # A's files are untouched, byte for byte; B's best is its own.
    assert _shas(a) == before
    best = torch.load(b / 'epoch_3.pth', weights_only=True)['message_hub']
    assert Path(best['runtime_info']['best_ckpt']).parent == b
    assert (b / 'last_checkpoint').read_text() == str(b / 'epoch_3.pth')


def test_resume_of_another_architecture_stops_before_training(
        run_a, tools, tmp_path, capsys):
    b = tmp_path / 'b'
    code, out = run_tool(tools['train'], [
        VANILLA, '--resume', str(run_a['work_dir'] / 'epoch_1.pth'),
        '--work-dir', str(b), '--cfg-options', *run_a['options'],
        'model.backbone.depth=16'], capsys)
    assert code == 1
    assert out.err.startswith(
        f"ERROR: Checkpoint {str(run_a['work_dir'] / 'epoch_1.pth')!r} does "
        'not fit the model:\n  missing keys (36):\n')
    assert out.err.endswith(
        'Likely cause: the checkpoint holds a WRN-10-1, the config builds a '
        'WRN-16-1: use the config that matches the checkpoint.\n')
    assert not list(b.glob('*.pth')) and not (b / 'last_checkpoint').exists()


# ------------------------------------------- damaged checkpoints, fallback
def _state(path: Path, epoch: int) -> Path:
    torch.save({'meta': {'epoch': epoch}, 'state_dict': {}}, path)
    return path


def test_damaged_pointer_or_newest_checkpoint_falls_back(tmp_path, capsys):
    older = _state(tmp_path / 'epoch_9.pth', 9)
    newest = _state(tmp_path / 'epoch_10.pth', 10)
    # Written within one tick of the file system's clock: the same time.
    for path in (older, newest):
        os.utime(path, ns=(1_700_000_000_000_000_000, ) * 2)
    pointer = tmp_path / 'last_checkpoint'
    pointer.write_text(str(newest))
    assert resume_checkpoint(str(tmp_path), None) == str(newest)

    pointer.write_text('')
    assert resume_checkpoint(str(tmp_path), None) == str(newest)
    assert capsys.readouterr().err == (
        f"WARNING: {str(pointer)!r} is empty. Resuming from the newest "
        f'readable checkpoint {str(newest)!r} instead.\n')

    newest.write_bytes(newest.read_bytes()[:100])
    pointer.write_text(str(newest))
    assert resume_checkpoint(str(tmp_path), None) == str(older)
    assert capsys.readouterr().err == (
        f'WARNING: {str(pointer)!r} names a damaged checkpoint: '
        f'{str(newest)!r} is a truncated or damaged PyTorch checkpoint (the '
        'end of the file is missing). Resuming from the newest readable '
        f'checkpoint {str(older)!r} instead.\n')

    with pytest.raises(CheckpointError) as error:
        resume_checkpoint(str(tmp_path), str(newest))
    assert str(error.value) == (
        f'--resume: {str(newest)!r} is a truncated or damaged PyTorch '
        'checkpoint (the end of the file is missing). The newest readable '
        f'checkpoint beside it is {str(older)!r}: resume with --resume '
        f'{older}.')


def test_copied_work_dir_resumes_its_own_copy(tmp_path):
    original, copy = tmp_path / 'a', tmp_path / 'copy'
    original.mkdir()
    _state(original / 'epoch_1.pth', 1)
    (original / 'last_checkpoint').write_text(str(original / 'epoch_1.pth'))
    shutil.copytree(original, copy)
    assert resume_checkpoint(str(copy), None) == str(copy / 'epoch_1.pth')
