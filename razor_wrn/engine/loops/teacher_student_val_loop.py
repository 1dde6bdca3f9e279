"""Validation of a distillation run: the student, plus the frozen teacher."""
from typing import Callable, Dict

import torch
from mmengine.evaluator import Evaluator
from mmengine.model import is_model_wrapper
from mmengine.registry import LOOPS
from mmengine.runner import ValLoop, autocast

from .tensor_val_loop import TensorBatchValidation


class _WithTeacherMetrics:
    """The student's evaluator, its results extended by the teacher's as
    ``teacher/<metric>``; every other attribute is the evaluator's."""

    def __init__(self, evaluator: Evaluator,
                 teacher_metrics: Callable[[], Dict[str, float]]) -> None:
        self.evaluator = evaluator
        self._teacher_metrics = teacher_metrics

    def evaluate(self, size: int) -> Dict[str, float]:
        metrics = self.evaluator.evaluate(size)
        metrics.update({f'teacher/{k}': v
                        for k, v in self._teacher_metrics().items()})
        return metrics

    def __getattr__(self, name: str):
        return getattr(self.evaluator, name)


@LOOPS.register_module()
class TeacherStudentValLoop(TensorBatchValidation, ValLoop):
    """mmengine's ``ValLoop`` over the student (the metrics the run reports
    and selects the best checkpoint by, plus mmengine's validation losses),
    with the teacher's metrics added as ``teacher/<metric>``.

    The teacher of :class:`FrozenTeacherDistill` never changes, so it is
    evaluated once per run and its metrics are reused at every validation;
    mmrazor's ``SingleTeacherDistillValLoop`` re-evaluates it each time,
    doubling the cost of validation for the same numbers. Where the loader
    gives tensor batches (:class:`~.tensor_val_loop.TensorBatchValidation`)
    both are evaluated on them.

    Args:
        runner: The Runner; its model must have a ``teacher``.
        dataloader: Validation dataloader or its config.
        evaluator: Evaluator or its config.
        fp16: Evaluate under fp16 autocast.
    """

    def __init__(self, runner, dataloader, evaluator,
                 fp16: bool = False) -> None:
        super().__init__(runner, dataloader, evaluator, fp16)
        self.evaluator = _WithTeacherMetrics(self.evaluator,
                                             self.evaluate_teacher)
        self._teacher_metrics = None

    @torch.no_grad()
    def evaluate_teacher(self) -> Dict[str, float]:
        """The teacher's metrics on this loop's data (computed once).

        Raises:
            TypeError: If the runner's model has no ``teacher``.
        """
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
            evaluator = self.evaluator.evaluator
            if self.runs_on_tensors():
                scores, labels = [], []
                for batch in self.tensor_batches():
                    scores.append(self._scores(batch['inputs'],
                                               model.teacher))
                    labels.append(batch['labels'])
                results = self.results_of(scores, labels)
                for metric in evaluator.metrics:
                    metric.results.extend(results)
            else:
                for data_batch in self.dataloader:
                    with autocast(enabled=self.fp16):
                        data = model.data_preprocessor(data_batch, False)
                        outputs = model.teacher(**data, mode='predict')
                    evaluator.process(data_samples=outputs,
                                      data_batch=data_batch)
            self._teacher_metrics = evaluator.evaluate(
                len(self.dataloader.dataset))
            model.train(was_training)
        return self._teacher_metrics
