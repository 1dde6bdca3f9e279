"""Evaluate the teacher before the first training iteration."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class TeacherEvalHook(Hook):
    """Log the teacher's validation metrics before training starts, so a
    wrong or untrained teacher shows before hours are spent distilling it.

    Needs the :class:`TeacherStudentValLoop` (whose cached result it fills,
    so the teacher is evaluated once in all). A run without validation
    skips the check with a warning. Disable the hook with
    ``--cfg-options default_hooks.teacher_eval=None``.

    Args:
        chance_margin: Warn when top-1 is below ``chance_margin`` times the
            chance level (100 / number of classes).
    """

    priority = 'LOW'

    def __init__(self, chance_margin: float = 2.0) -> None:
        self.chance_margin = chance_margin

    def before_train(self, runner) -> None:
        loop = runner.val_loop
        if loop is None or not hasattr(loop, 'evaluate_teacher'):
            runner.logger.warning(
                'TeacherEvalHook: no TeacherStudentValLoop (validation is off '
                'or val_cfg uses another loop), so the teacher is not checked '
                'before training.')
            return
        metrics = loop.evaluate_teacher()
        shown = '  '.join(f'{k}: {v:.2f}' for k, v in metrics.items())
        runner.logger.info(f'Teacher on the validation set: {shown}')
        top1 = metrics.get('accuracy/top1')
        classes = (runner.val_dataloader.dataset.metainfo or {}).get(
            'classes') or ()
        if top1 is not None and classes:
            chance = 100.0 / len(classes)
            if top1 < self.chance_margin * chance:
                runner.logger.warning(
                    f'The teacher reaches only {top1:.2f}% top-1 (chance is '
                    f'{chance:.2f}%): check model.teacher_ckpt and that the '
                    'teacher config matches it.')
