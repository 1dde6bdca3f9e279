"""A real SIGKILL while a checkpoint is written leaves a resumable work dir.

The kill lands where mmengine's own CheckpointHook lost the run: after a new
best, the epoch checkpoint that ``last_checkpoint`` already names is written
a second time; the process dies after half of its bytes.
"""
import builtins
import errno
import os
import signal
import torch

from conftest import Forked, run_tool
from razor_wrn.checkpoint import load_checkpoint_file

VANILLA = 'configs/vanilla/wrn16-w2_b128x1_cifar10.py'
TINY_WRN = ['model.backbone.depth=10', 'model.backbone.widen_factor=1']


class HalfThenKill:
    """A file whose first write puts half of its bytes on disk, then
    SIGKILLs the process."""

    def __init__(self, file):
        self.file = file

    def write(self, data):
        self.file.write(data[:len(data) // 2])
        self.file.flush()
        os.fsync(self.file.fileno())
        os.kill(os.getpid(), signal.SIGKILL)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.file.__exit__(*exc)

    def __getattr__(self, name):
        return getattr(self.file, name)


def killing_train(train_main, argv: list) -> None:
    """``train_main(argv)`` with every binary write whose target is
    epoch_1.pth (or a temporary file for it) counted; the second one is a
    :class:`HalfThenKill`. Run it in a forked child only."""
    real_open, real_fdopen, writes = builtins.open, os.fdopen, [0]

    def watch(file, name, mode):
        if 'w' in mode and 'b' in mode and os.path.basename(
                str(name)).lstrip('.').startswith('epoch_1.pth'):
            writes[0] += 1
            if writes[0] == 2:
                return HalfThenKill(file)
        return file

    builtins.open = lambda name, mode='r', *a, **k: watch(
        real_open(name, mode, *a, **k), name, mode)
    os.fdopen = lambda fd, mode='r', *a, **k: watch(
        real_fdopen(fd, mode, *a, **k), os.readlink(f'/proc/self/fd/{fd}'),
        mode)
    train_main(argv)


def test_sigkill_while_rewriting_the_newest_checkpoint(
        tmp_path, make_tiny_cifar10, data_options, tools, capsys):
    work_dir = tmp_path / 'run'
    options = data_options(make_tiny_cifar10(per_class_train=2,
                                             per_class_test=1), 10) + TINY_WRN
    code, output = Forked(killing_train, tools['train'].main, [
        VANILLA, '--work-dir', str(work_dir), '--cfg-options',
        'train_cfg.max_epochs=1', *options]).wait()
    assert code == -signal.SIGKILL, output[-2000:]
    assert (work_dir / 'best_accuracy_top1_epoch_1.pth').is_file()

    # The checkpoint the pointer names is whole: its first version.
    pointer = (work_dir / 'last_checkpoint').read_text()
    assert pointer == str(work_dir / 'epoch_1.pth')
    assert load_checkpoint_file(pointer)['meta']['epoch'] == 1
    partial, = work_dir.glob('.epoch_1.pth.*.tmp')

    code, (_, err) = run_tool(tools['train'], [
        VANILLA, '--work-dir', str(work_dir), '--resume',
        '--cfg-options', 'train_cfg.max_epochs=2', *options], capsys)
    assert code == 0
    assert 'WARNING' not in err  # no fallback needed
    resumed = torch.load(work_dir / 'epoch_2.pth', weights_only=True)
    assert (resumed['meta']['epoch'], resumed['meta']['iter']) == (2, 4)
    assert not partial.exists()  # the killed write's leftover is removed


def test_a_full_disk_stops_the_run_in_one_line_and_loses_nothing(
        tmp_path, make_tiny_cifar10, data_options, tools, capsys,
        monkeypatch):
    work_dir = tmp_path / 'run'
    options = data_options(make_tiny_cifar10(per_class_train=2,
                                             per_class_test=1), 10) + TINY_WRN
    real_fsync = os.fsync

    def full_disk_for_epoch_2(fd):
        # The temporary file of epoch_2.pth cannot be flushed to disk.
        if os.path.basename(os.readlink(f'/proc/self/fd/{fd}')).startswith(
                '.epoch_2.pth.'):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, 'fsync', full_disk_for_epoch_2)
    code, (_, err) = run_tool(tools['train'], [
        VANILLA, '--work-dir', str(work_dir), '--cfg-options',
        'train_cfg.max_epochs=2', *options], capsys)
    assert code == 1
    assert err == (
        f'ERROR: Could not write {work_dir / "epoch_2.pth"}: No space left on '
        'device. The run stopped; every checkpoint saved before is intact, '
        f'newest: {work_dir / "epoch_1.pth"}. Free space (or fix the folder) '
        'and continue with the same command plus --resume (python '
        f'tools/train.py {VANILLA} --work-dir {work_dir} --resume ...).\n')
    assert sorted(p.name for p in work_dir.glob('*.pth')) == [
        'best_accuracy_top1_epoch_1.pth', 'epoch_1.pth']
    assert not list(work_dir.glob('.*.tmp'))

    monkeypatch.undo()
    code, (_, err) = run_tool(tools['train'], [
        VANILLA, '--work-dir', str(work_dir), '--resume', '--cfg-options',
        'train_cfg.max_epochs=2', *options], capsys)
    assert code == 0, err
    resumed = torch.load(work_dir / 'epoch_2.pth', weights_only=True)
    assert resumed['meta']['epoch'] == 2
