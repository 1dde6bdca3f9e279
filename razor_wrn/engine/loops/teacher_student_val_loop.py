"""Validation of a distillation run: the student, plus the frozen teacher."""
from typing import Dict

import torch
from mmengine.model import is_model_wrapper
from mmengine.registry import LOOPS
from mmengine.runner import ValLoop, autocast


@LOOPS.register_module()
class TeacherStudentValLoop(ValLoop):
    """Validate the student (the metrics the run reports and selects the
    best checkpoint by) and report the teacher's metrics beside them as
    ``teacher/<metric>``.

    The teacher of :class:`FrozenTeacherDistill` never changes, so it is
    evaluated once per run and its metrics are reused at every epoch;
    mmrazor's ``SingleTeacherDistillValLoop`` re-evaluates it each time,
    doubling the cost of validation for the same numbers.
    """

    def __init__(self, runner, dataloader, evaluator,
                 fp16: bool = False) -> None:
        super().__init__(runner, dataloader, evaluator, fp16)
        self._teacher_metrics = None

    @torch.no_grad()
    def evaluate_teacher(self) -> Dict[str, float]:
        """The teacher's metrics on this loop's data (computed once)."""
        if self._teacher_metrics is None:
            model = self.runner.model
            if is_model_wrapper(model):
                model = model.module
            if not hasattr(model, 'teacher'):
                raise TypeError(
                    'TeacherStudentValLoop needs a distillation model with a '
                    f'`teacher`; got {type(model).__name__}. Use the default '
                    'ValLoop (val_cfg = dict()) for plain training.')
            was_training = model.training
            model.eval()
            for data_batch in self.dataloader:
                with autocast(enabled=self.fp16):
                    data = model.data_preprocessor(data_batch, False)
                    outputs = model.teacher(**data, mode='predict')
                self.evaluator.process(
                    data_samples=outputs, data_batch=data_batch)
            self._teacher_metrics = self.evaluator.evaluate(
                len(self.dataloader.dataset))
            model.train(was_training)
        return self._teacher_metrics

    def run(self) -> Dict[str, float]:
        teacher_metrics = self.evaluate_teacher()
        self.runner.call_hook('before_val')
        self.runner.call_hook('before_val_epoch')
        self.runner.model.eval()
        self.val_loss.clear()
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        metrics.update(
            {f'teacher/{k}': v for k, v in teacher_metrics.items()})
        self.runner.call_hook('after_val_epoch', metrics=metrics)
        self.runner.call_hook('after_val')
        return metrics
