"""The hardware limit of a config's step: the same mathematics as the
Runner's, in plain PyTorch on one batch held on the device.

It runs the Runner's own networks (``model(x, mode='tensor')``: logits, in
the layout ``ChannelsLastHook`` set) and the config's own loss modules (the
head's task loss; the distiller's losses, weights and temperatures), and
leaves out the data pipeline, preprocessor, recorders and hooks. A
distillation loss of anything but the logits and labels (features,
connectors) is not reproduced: :class:`LimitUnavailable` names it. Segment
generators: see ``runner_steps.py``.
"""
from contextlib import nullcontext
from typing import Callable, Dict, Iterator, Optional

import torch
import torch.nn as nn
from mmrazor.models import SingleTeacherDistill

# The records a hand-written step holds, by (recorder class, source module,
# data_idx): the logits, and the labels (argument 1 of the head's loss
# module, as mmpretrain's ``ClsHead._get_loss`` calls it).
_RECORDS = {
    ('ModuleOutputsRecorder', 'head.fc', None): 'logits',
    ('ModuleOutputsRecorder', 'head', None): 'logits',
    ('ModuleInputsRecorder', 'head.loss_module', 1): 'labels',
}


class LimitUnavailable(Exception):
    """The config's loss reads records the hand-written step lacks."""


def _loss_inputs(distiller: nn.Module) -> Dict[str, Dict[str, str]]:
    """Loss name -> {forward argument: ``'student'`` or ``'teacher'``
    (their logits) or ``'labels'``} of an mmrazor ``ConfigurableDistiller``.

    Raises:
        LimitUnavailable: A loss reads another record or a connector.
    """
    inputs = {}
    for loss_name, mapping in distiller.loss_forward_mappings.items():
        inputs[loss_name] = {}
        for argument, spec in mapping.items():
            side = 'student' if spec['from_student'] else 'teacher'
            recorder = getattr(distiller, f'{side}_recorders').get_recorder(
                spec['recorder'])
            key = (type(recorder).__name__, recorder.source,
                   spec.get('data_idx'))
            record = _RECORDS.get(key)
            if record is None or spec.get('connector') or spec.get(
                    'record_idx', 0):
                raise LimitUnavailable(
                    f'{loss_name}({argument}=...) reads the {side}\'s '
                    f'{key[0]} of {key[1]!r}' +
                    (' through a connector' if spec.get('connector') else '')
                    + '; the hand-written step reproduces only losses of '
                    'the logits and labels')
            inputs[loss_name][argument] = side if record == 'logits' \
                else 'labels'
    return inputs


class LimitLoss:
    """``(images, labels) -> loss``: the training loss of ``model`` from
    the networks' logits.

    A classifier: its head's loss module. A ``SingleTeacherDistill``: the
    teacher under ``torch.no_grad`` (as the algorithm runs it), then the
    student's task loss (if the algorithm adds it) plus every distillation
    loss; ``student_only`` keeps the student's task loss alone.

    Args:
        model: The Runner's model (unwrapped).
        student_only: Leave the teacher and the distillation losses out.
        compile: Run the networks through ``torch.compile``.

    Raises:
        LimitUnavailable: See :func:`_loss_inputs`.
    """

    def __init__(self, model: nn.Module, student_only: bool = False,
                 compile: bool = False) -> None:
        kd = isinstance(model, SingleTeacherDistill)
        self.model = model
        self.student = model.student if kd else model
        self.distill_inputs = _loss_inputs(model.distiller) \
            if kd and not student_only else {}
        self.task_loss = not kd or student_only or \
            model.calculate_student_loss
        self.compile = compile
        wrap = torch.compile if compile else (lambda net: net)
        self._student = wrap(self.student)
        self._teacher = wrap(model.teacher) if self.distill_inputs else None

    def __call__(self, images: torch.Tensor,
                 labels: torch.Tensor) -> torch.Tensor:
        """Scalar loss of normalised images ``(N, C, H, W)`` with class
        indices ``labels`` ``(N,)``."""
        values = {'labels': labels}
        if self._teacher is not None:
            with torch.no_grad():
                values['teacher'] = self._teacher(images, mode='tensor')
        values['student'] = self._student(images, mode='tensor')
        loss = self.student.head.loss_module(
            values['student'], labels, avg_factor=len(labels)) \
            if self.task_loss else 0.0
        if self.distill_inputs and not self.model.distillation_stopped:
            losses = self.model.distiller.distill_losses
            for name, arguments in self.distill_inputs.items():
                loss = loss + losses[name](**{
                    argument: values[record]
                    for argument, record in arguments.items()})
        return loss


def _autocast(device: torch.device, dtype: Optional[torch.dtype]):
    return nullcontext() if dtype is None else torch.autocast(
        device.type, dtype=dtype)


def hand_train(loss: LimitLoss, optimizer: torch.optim.Optimizer,
               images: torch.Tensor, labels: torch.Tensor,
               amp_dtype: Optional[torch.dtype]
               ) -> Callable[[], Iterator[bool]]:
    """Segments of the training step: ``loss``, backward, and a bare
    optimizer of the Runner's class and ``defaults`` over the student.

    Args:
        loss: The loss to train.
        optimizer: The Runner's optimizer, whose class and settings to use.
        images: Normalised images ``(N, C, H, W)`` on the device.
        labels: Class indices ``(N,)`` on the device.
        amp_dtype: Autocast dtype; None for fp32.
    """
    optimizer = type(optimizer)(loss.student.parameters(),
                                **optimizer.defaults)
    # fp16 gradients underflow without loss scaling; bf16 needs none.
    scaler = torch.amp.GradScaler(images.device.type,
                                  enabled=amp_dtype == torch.float16)

    def segment() -> Iterator[bool]:
        loss.student.train()
        while True:
            yield False
            with _autocast(images.device, amp_dtype):
                value = loss(images, labels)
            scaler.scale(value).backward()
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)

    return segment


def hand_eval(classifier: nn.Module, images: torch.Tensor,
              amp_dtype: Optional[torch.dtype]
              ) -> Callable[[], Iterator[bool]]:
    """Segments of the evaluation step: the classifier's logits in eval
    mode under ``torch.inference_mode``.

    Args:
        classifier: The evaluated network (the student of a distiller).
        images: Normalised images ``(N, C, H, W)`` on the device.
        amp_dtype: Autocast dtype; None for fp32.
    """

    def segment() -> Iterator[bool]:
        classifier.eval()
        try:
            while True:
                yield False
                with torch.inference_mode(), _autocast(images.device,
                                                       amp_dtype):
                    classifier(images, mode='tensor')
        finally:
            classifier.train()

    return segment
