"""Checkpoints that a kill at any moment cannot damage.

mmengine's ``CheckpointHook`` writes each checkpoint and the work dir's
``last_checkpoint`` pointer in place (open, truncate, write), and after a new
best it rewrites the epoch checkpoint the pointer already names: a kill
during that write leaves no resumable state. Here every file is written to a
temporary file in the same folder, flushed and fsynced, then renamed over the
old one (``os.replace`` is atomic on POSIX and Windows), and the pointer is
updated the same way, only after its checkpoint is complete.
"""
import glob
import os
import os.path as osp
import tempfile
from typing import Union

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS


TMP_SUFFIX = '.tmp'


def write_atomically(data: bytes, path: str) -> None:
    """Replace ``path`` by a file holding ``data``, so that ``path`` holds
    either its old or its new content whenever the process dies."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix=f'.{osp.basename(path)}.', suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    # Make the rename itself durable.
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


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
        # As mmengine 0.10.7's CheckpointHook, but the pointer goes through
        # the file backend (atomic) instead of an in-place open().
        self._forget_oldest(runner, step)
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
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
            self.file_backend.put_text(
                self.last_ckpt, osp.join(runner.work_dir, 'last_checkpoint'))

    def _forget_oldest(self, runner, step: int) -> None:
        """Drop the oldest kept checkpoint when ``step`` is a new one and
        ``max_keep_ckpts`` are kept already (mmengine's rule)."""
        if self.max_keep_ckpts <= 0 or (self.keep_ckpt_ids
                                        and self.keep_ckpt_ids[-1] == step):
            return
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            oldest = self.keep_ckpt_ids.popleft()
            path = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(oldest))
            if is_main_process() and self.file_backend.isfile(path):
                self.file_backend.remove(path)
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids',
                                       list(self.keep_ckpt_ids))
