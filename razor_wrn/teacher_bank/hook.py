"""Attach a distillation model's teacher bank to the run, and save it."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class TeacherBankHook(Hook):
    """Check ``model.teacher_bank`` against the run and open it before the
    first iteration; in ``mode='fill'`` flush it before every checkpoint
    and log, each epoch, the share of views the teacher still had to run.

    Does nothing for a model without a teacher bank. The checks need the
    train loader (data fingerprint, augmentation) and the loaded teacher,
    which the model alone does not see; see :mod:`.checks`.
    """

    priority = 'HIGH'  # before TeacherEvalHook and the first iteration

    @staticmethod
    def _bank(runner):
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        return model, getattr(model, 'teacher_bank', None)

    def before_train(self, runner) -> None:
        model, bank = self._bank(runner)
        if bank is not None:
            runner.logger.info(
                bank.attach(model, runner.train_dataloader, runner.work_dir))

    def after_train_epoch(self, runner) -> None:
        _, bank = self._bank(runner)
        if bank is not None and bank.mode == 'fill' and bank.views_seen:
            runner.logger.info(
                f'Teacher bank: the teacher ran on {bank.teacher_views} of '
                f'{bank.views_seen} training views so far '
                f'({100 * (1 - bank.teacher_views / bank.views_seen):.1f}% '
                'of teacher forwards saved).')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        _, bank = self._bank(runner)
        if bank is not None and bank.file is not None:
            bank.file.flush()

    def after_train(self, runner) -> None:
        self.before_save_checkpoint(runner, {})
