"""Resume a run, or load its starting weights, as the current config and
work dir say, or stop clearly."""
import os.path as osp
import re
from typing import Optional, Tuple

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from ..checkpoint import check_weights_fit, fit_load_from
from .schedule import schedule_from_config


def resume_settings(runner) -> Tuple[bool, Optional[str]]:
    """Whether ``runner`` resumes, and the checkpoint it loads.

    Read from the config the Runner was built from (``runner.cfg``, as
    ``Runner.from_cfg`` and the tools build it). A Runner built from
    keyword arguments has an empty ``cfg``, and mmengine keeps these two
    settings nowhere public; only then are its private attributes read.
    """
    cfg = runner.cfg
    if 'resume' in cfg or 'load_from' in cfg:
        return bool(cfg.get('resume')), cfg.get('load_from')
    return bool(runner._resume), runner._load_from


def _inside(path: str, folder: str) -> bool:
    path, folder = osp.realpath(path), osp.realpath(folder)
    return path == folder or path.startswith(folder + osp.sep)


@HOOKS.register_module()
class ResumeHook(Hook):
    """Check and adapt a checkpoint being resumed (``--resume``), after it is
    read and before mmengine restores anything from it.

    - The weights must fit the model exactly (mmengine resumes with
      ``strict=False``, so another architecture resumed with a warning):
      otherwise one :class:`CheckpointError` lists the mismatches.
    - Run state naming files outside this run's work dir (the message hub's
      ``best_ckpt`` and ``last_ckpt`` when a run is forked with ``--resume
      A/epoch_2.pth --work-dir B``) is dropped, so this run never deletes or
      reads another run's files: mmengine would delete A's best checkpoint
      when B improves on it.
    - The optimizer hyper-parameters and scheduler states are re-derived
      from the current config at the resumed epoch
      (:func:`~razor_wrn.resume.schedule.schedule_from_config`), and
      what changed is logged in one line.

    Weights loaded with ``load_from`` (no resume) must fit too: mmengine
    loads them with ``strict=False``, so a plain classifier checkpoint given
    to a distillation config loaded none of the student's tensors, with a
    warning, and distilled into a random student. Such a checkpoint is
    loaded onto the student (``model.architecture``), strictly (see
    :func:`~razor_wrn.checkpoint.fit_load_from`); anything else that does
    not fit stops with the mismatches listed.

    Raises:
        CheckpointError: the checkpoint's weights do not fit the model (or,
            for ``load_from`` in a distillation, its student).
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        resume, load_from = resume_settings(runner)
        if not resume:
            if fit_load_from(model, checkpoint, str(load_from)):
                runner.logger.info(
                    f'load_from {load_from}: a classifier checkpoint, loaded '
                    'onto the student (model.architecture); the teacher and '
                    'the distiller keep their weights.')
            return
        source = load_from or 'the resumed checkpoint'
        # mmengine strips DDP's `module.` prefix when it loads.
        weights = {re.sub(r'^module\.', '', k): v
                   for k, v in checkpoint.get('state_dict', {}).items()}
        check_weights_fit(model, weights, source)
        self._drop_foreign_paths(runner, checkpoint)
        if 'optimizer' in checkpoint:
            changes = schedule_from_config(runner, checkpoint)
            if changes:
                runner.logger.info(
                    'Resuming with the optimizer and schedule of the current '
                    'config, not those saved in the checkpoint: ' +
                    '; '.join(changes))

    @staticmethod
    def _drop_foreign_paths(runner, checkpoint: dict) -> None:
        info = checkpoint.get('message_hub', {}).get('runtime_info', {})
        foreign = [
            key for key, value in info.items()
            if isinstance(value, str) and osp.isabs(value)
            and not _inside(value, runner.work_dir)
        ]
        dropped = {key: info.pop(key) for key in foreign}
        if dropped:
            runner.logger.info(
                'Not resuming run state that names files outside the work '
                f'dir {runner.work_dir} (this run neither reads nor deletes '
                'them): ' + ', '.join(f'{k}={v}' for k, v in dropped.items()))
