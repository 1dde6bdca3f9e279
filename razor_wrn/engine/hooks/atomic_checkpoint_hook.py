"""Checkpoints that a kill at any moment cannot damage.

mmengine's ``CheckpointHook`` writes each checkpoint and the work dir's
``last_checkpoint`` pointer in place (open, truncate, write), and after a new
best it rewrites the epoch checkpoint the pointer already names: a kill
during that write leaves no resumable state. Here every file is written to a
temporary file in the same folder, flushed and fsynced, then renamed over the
old one (``os.replace`` is atomic on POSIX and Windows), and the pointer is
updated the same way, only after its checkpoint is complete.

A checkpoint that cannot be written (a full disk, a quota, a read-only
folder) stops the run with one :class:`~razor_wrn.checkpoint.CheckpointError`
saying that the checkpoints already saved are intact and how to resume: a
file is deleted (the oldest kept checkpoint, the previous best) only after
the one replacing it is on disk, and a best checkpoint that could not be
written is not recorded as the best.
"""
import copy
import glob
import os
import os.path as osp
import shlex
from contextlib import contextmanager
from typing import Iterator, List, Optional, Union

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS

from razor_wrn.checkpoint import CheckpointError
from razor_wrn.checkpoint.atomic_files import TMP_SUFFIX, write_atomically
from razor_wrn.resume import pointer_path

# The message hub's records of the best checkpoint and its score.
_BEST_KEYS = ('best_score', 'best_ckpt')


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend with :func:`write_atomically` writes."""

    def put(self, obj: bytes, filepath: Union[str, os.PathLike]) -> None:
        write_atomically(obj, str(filepath))

    def put_text(self, obj: str, filepath: Union[str, os.PathLike],
                 encoding: str = 'utf-8') -> None:
        write_atomically(obj.encode(encoding), str(filepath))


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` writing checkpoints and ``last_checkpoint``
    atomically (see the module docstring).

    Args:
        backend_args: mmengine file backend arguments. Defaults to the
            ``atomic_local`` backend; any other backend writes as mmengine
            does.
        **kwargs: ``CheckpointHook``'s other arguments.
    """

    def __init__(self, backend_args: dict = None, **kwargs) -> None:
        super().__init__(
            backend_args=backend_args or dict(backend='atomic_local'),
            **kwargs)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if not is_main_process() or not isinstance(self.file_backend,
                                                   AtomicLocalBackend):
            return
        # Temporary files of a process killed while writing.
        for folder in {self.out_dir, runner.work_dir}:
            for path in glob.glob(osp.join(glob.escape(folder),
                                           f'.*{TMP_SUFFIX}')):
                os.remove(path)

    def _save_checkpoint_with_step(self, runner, step: int,
                                   meta: dict) -> None:
        # Overrides a private method of mmengine 0.10.7's CheckpointHook, as
        # there is no public route: that method deletes the oldest kept
        # checkpoint before writing the new one and then writes the pointer
        # with an in-place open(), and no hook runs between the two writes.
        # Here the pointer goes through the file backend (atomic), and the
        # oldest checkpoint is deleted only once the new one is saved; the
        # bookkeeping (kept ids, message hub keys) is mmengine's.
        oldest = self._forget_oldest(runner, step)
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        with self._stop_if_unwritable(runner, self.last_ckpt):
            runner.save_checkpoint(
                self.out_dir,
                ckpt_filename,
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args)
        if is_main_process():
            pointer = pointer_path(runner.work_dir)
            with self._stop_if_unwritable(runner, pointer):
                self.file_backend.put_text(self.last_ckpt, pointer)
            if oldest and self.file_backend.isfile(oldest):
                self.file_backend.remove(oldest)

    def _forget_oldest(self, runner, step: int) -> Optional[str]:
        """Drop the oldest kept checkpoint from the kept list when ``step``
        is a new one and ``max_keep_ckpts`` are kept already (mmengine's
        rule); return its path, for the caller to delete once the new
        checkpoint is saved."""
        if self.max_keep_ckpts <= 0 or (self.keep_ckpt_ids
                                        and self.keep_ckpt_ids[-1] == step):
            return None
        oldest = None
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            oldest = self.file_backend.join_path(
                self.out_dir,
                self.filename_tmpl.format(self.keep_ckpt_ids.popleft()))
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids',
                                       list(self.keep_ckpt_ids))
        return oldest

    def _save_best_checkpoint(self, runner, metrics: dict) -> None:
        # mmengine deletes the previous best checkpoint, records the new one
        # as the best, then writes it: a failed write would lose the old
        # best and leave the run (and a later resume) naming a file that
        # does not exist. Here the deletions wait until the writes are done,
        # and a failure restores what the run records as the best.
        hub = runner.message_hub
        recorded = {key: value for key, value in hub.runtime_info.items()
                    if key.startswith(_BEST_KEYS)}
        # best_ckpt_path_dict exists only with several key indicators.
        paths = {name: copy.copy(getattr(self, name)) for name in (
            'best_ckpt_path', 'best_ckpt_path_dict') if hasattr(self, name)}
        with self._deferred_removals() as removals:
            try:
                super()._save_best_checkpoint(runner, metrics)
            except BaseException as error:
                attempted = self.best_ckpt_path or next(iter(getattr(
                    self, 'best_ckpt_path_dict', {}).values()), self.out_dir)
                for key in [key for key in hub.runtime_info
                            if key.startswith(_BEST_KEYS)]:
                    hub.runtime_info.pop(key)
                for key, value in recorded.items():
                    hub.update_info(key, value)
                for name, value in paths.items():
                    setattr(self, name, value)
                removals.clear()
                if isinstance(error, OSError):
                    raise self._unwritable(runner, attempted, error) \
                        from error
                raise
        for path in removals:
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)

    @contextmanager
    def _deferred_removals(self) -> Iterator[List[str]]:
        """Collect the paths the file backend is asked to remove instead of
        removing them."""
        removals: List[str] = []
        self.file_backend.remove = removals.append
        try:
            yield removals
        finally:
            del self.file_backend.remove

    @contextmanager
    def _stop_if_unwritable(self, runner, path: str) -> Iterator[None]:
        """Turn an OSError while writing ``path`` into
        :meth:`_unwritable`'s error.

        Raises:
            CheckpointError: writing ``path`` failed.
        """
        try:
            yield
        except OSError as error:
            raise self._unwritable(runner, path, error) from error

    def _unwritable(self, runner, path: str,
                    error: OSError) -> CheckpointError:
        """One message for a checkpoint that could not be written: what
        failed, that the saved checkpoints are intact, how to go on."""
        return CheckpointError(
            f'Could not write {path}: {error.strerror or error}. The run '
            f'stopped; every checkpoint saved before is intact'
            f'{self._newest_saved(runner)}. Free space (or fix the folder) '
            'and continue with the same command plus --resume'
            f'{self._resume_hint(runner)}.')

    @staticmethod
    def _newest_saved(runner) -> str:
        """', newest: PATH' from the work dir's pointer, or nothing."""
        try:
            with open(pointer_path(runner.work_dir)) as f:
                newest = f.read().strip()
        except OSError:
            return ''
        return f', newest: {newest}' if osp.isfile(newest) else ''

    @staticmethod
    def _resume_hint(runner) -> str:
        config = getattr(runner.cfg, 'filename', None)
        if not config:
            return ''
        return (f' (python tools/train.py {shlex.quote(config)} --work-dir '
                f'{shlex.quote(runner.work_dir)} --resume ...)')
