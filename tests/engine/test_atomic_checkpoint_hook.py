"""AtomicCheckpointHook: file modes as ``open()`` gives them, and a best
checkpoint that cannot be written loses nothing and is not recorded."""
import errno
import os
import pickle
from pathlib import Path

import pytest

import razor_wrn  # noqa: F401  (registries)
from mmengine.logging import MessageHub, MMLogger

from razor_wrn.checkpoint import CheckpointError
from razor_wrn.engine.hooks import AtomicCheckpointHook
from razor_wrn.checkpoint import write_atomically


@pytest.mark.parametrize('umask, mode', [(0o022, 0o644), (0o027, 0o640)])
def test_new_files_get_the_mode_the_umask_gives(tmp_path, umask, mode):
    # mkstemp's 0600 made checkpoints unreadable to teammates whose group
    # the umask lets read the logs beside them.
    old = os.umask(umask)
    try:
        write_atomically(b'x', str(tmp_path / 'epoch_1.pth'))
        (tmp_path / 'log').write_text('')
    finally:
        os.umask(old)
    assert (tmp_path / 'epoch_1.pth').stat().st_mode & 0o777 == mode
    assert (tmp_path / 'log').stat().st_mode & 0o777 == mode


def test_a_replaced_file_keeps_its_mode(tmp_path):
    path = tmp_path / 'last_checkpoint'
    path.write_text('epoch_1.pth')
    path.chmod(0o604)
    write_atomically(b'epoch_2.pth', str(path))
    assert (path.read_bytes(), path.stat().st_mode & 0o777) == (
        b'epoch_2.pth', 0o604)


class FakeRunner:
    """What CheckpointHook reads of a Runner; a checkpoint is its meta,
    pickled, written through the hook's file backend."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = str(work_dir)
        self.epoch = self.iter = 0
        self.message_hub = MessageHub.get_instance('atomic_hook_test')
        self.logger = MMLogger.get_instance('atomic_hook_test')
        self.cfg = None
        self.hook = None

    def save_checkpoint(self, out_dir, filename, *args, meta=None,
                        **kwargs) -> None:
        self.hook.file_backend.put(pickle.dumps(meta),
                                   os.path.join(out_dir, filename))


def fail_writes_of(monkeypatch, prefix: str) -> None:
    """Every fsync of a file whose name starts with ``.prefix`` (the
    temporary file of ``prefix...``) fails as on a full disk."""
    real_fsync = os.fsync

    def fsync(fd):
        name = os.path.basename(os.readlink(f'/proc/self/fd/{fd}'))
        if name.startswith('.' + prefix):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, 'fsync', fsync)


def test_a_best_checkpoint_that_cannot_be_written_loses_nothing(
        tmp_path, monkeypatch):
    runner = FakeRunner(tmp_path)
    hook = runner.hook = AtomicCheckpointHook(interval=1, save_best='auto')
    hook.before_train(runner)
    runner.epoch = 1
    hook._save_best_checkpoint(runner, {'accuracy/top1': 10.0})
    first_best = tmp_path / 'best_accuracy_top1_epoch_1.pth'
    assert first_best.is_file()

    # Epoch 2 is better, and the disk is full.
    fail_writes_of(monkeypatch, 'best_')
    runner.epoch = 2
    with pytest.raises(CheckpointError) as error:
        hook._save_best_checkpoint(runner, {'accuracy/top1': 20.0})
    assert str(error.value).startswith(
        f'Could not write {tmp_path / "best_accuracy_top1_epoch_2.pth"}: No '
        'space left on device. The run stopped; every checkpoint saved before '
        'is intact')
    # mmengine deleted the old best first and recorded the new one.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'best_accuracy_top1_epoch_1.pth']
    assert runner.message_hub.get_info('best_ckpt') == str(first_best)
    assert runner.message_hub.get_info('best_score') == 10.0
    assert hook.best_ckpt_path == str(first_best)

    # With space again, the next best replaces the old one as before.
    monkeypatch.undo()
    runner.epoch = 3
    hook._save_best_checkpoint(runner, {'accuracy/top1': 30.0})
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'best_accuracy_top1_epoch_3.pth']
