"""Minimal hand-written PyTorch steps: the hardware limit of a config.

The same mathematics as the Runner's step, with nothing around it: a batch
already in memory on the device (normalised ``float32``), copies of the
config's networks as plain ``nn.Module`` s returning logits, the loss written
out, ``backward`` and the config's optimizer class with its settings.

KD step: teacher forward under ``torch.inference_mode`` (no autograd
bookkeeping at all), then the student forward, ``ce_weight * CE + kd_weight
* hinton_kd_loss(T)``, backward, optimizer step.
"""
import copy
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from razor_wrn.models.losses.hinton_kd_loss import hinton_kd_loss

from .measure import Steps

# Every per-module dict of hook callbacks; a copy starts with them empty.
_HOOK_DICTS = ('_forward_hooks', '_forward_pre_hooks', '_backward_hooks',
               '_backward_pre_hooks', '_forward_hooks_with_kwargs',
               '_forward_pre_hooks_with_kwargs',
               '_forward_hooks_always_called')


class LogitsNet(nn.Module):
    """``head(neck(backbone(x)))`` of an mmpretrain classifier: its
    ``forward(x, mode='tensor')`` without the mode dispatch.

    Args:
        backbone: Image to feature maps (a tuple of stages).
        neck: Feature maps to vectors (e.g. global average pooling); None
            when the classifier has none.
        head: Features to logits: an mmpretrain ``ClsHead`` whose forward
            returns the class scores.
    """

    def __init__(self, backbone: nn.Module, neck: Optional[nn.Module],
                 head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.neck = neck
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, num_classes)`` of images ``x`` ``(N, C, H, W)``."""
        feats = self.backbone(x)
        if self.neck is not None:
            feats = self.neck(feats)
        return self.head(feats)


def copy_without_hooks(module: nn.Module) -> nn.Module:
    """Deep copy of ``module`` whose submodules have no hooks.

    mmrazor's recorders stay registered as forward hooks on the algorithm's
    modules; a copy must not carry them (nor the recorders they belong to).
    """
    memo = {}
    for submodule in module.modules():
        for name in _HOOK_DICTS:
            hooks = getattr(submodule, name, None)
            if hooks is not None:
                memo[id(hooks)] = type(hooks)()
    return copy.deepcopy(module, memo)


def logits_net(classifier: nn.Module) -> LogitsNet:
    """A hook-free copy of an mmpretrain ``ImageClassifier`` as a
    :class:`LogitsNet` (same weights, device, memory format and mode)."""
    for part in ('backbone', 'head'):
        if getattr(classifier, part, None) is None:
            raise TypeError(
                'The hand-written loop needs an mmpretrain classifier with '
                f'`backbone`, `neck` and `head`; {type(classifier).__name__} '
                f'has no `{part}`.')
    net = LogitsNet(
        copy_without_hooks(classifier.backbone),
        copy_without_hooks(classifier.neck)
        if getattr(classifier, 'neck', None) is not None else None,
        copy_without_hooks(classifier.head))
    return net.train(classifier.training)


@dataclass
class KDWeights:
    """Loss of the hand-written step: ``ce * CE + kd * KD(temperature)``.

    Attributes:
        ce: Weight of the cross-entropy with the labels.
        kd: Weight of the Hinton KD term (0 for a plain step).
        temperature: Softmax temperature of the KD term.
    """

    ce: float = 1.0
    kd: float = 0.0
    temperature: float = 4.0


def random_batch(batch_size: int, image_shape: Tuple[int, int, int],
                 num_classes: int, device: torch.device,
                 channels_last: bool) -> Tuple[torch.Tensor, torch.Tensor]:
    """Normalised images (standard normal) and labels, on ``device``.

    Pixel values do not change the cost of a dense network, so random ones
    stand in for a preprocessed real batch.
    """
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(batch_size, *image_shape, generator=generator)
    labels = torch.randint(0, num_classes, (batch_size, ),
                           generator=generator)
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    return images.to(device), labels.to(device)


def _autocast(device: torch.device, dtype: Optional[torch.dtype]):
    """``torch.autocast`` for ``dtype``; a no-op context for None."""
    if dtype is None:
        return nullcontext()
    return torch.autocast(device.type, dtype=dtype)


class HandTrainSteps(Steps):
    """A hand-written training step on one batch held on the device.

    Args:
        name: Name of the measurement.
        student: The trained network (:class:`LogitsNet`), on the device.
        teacher: Frozen network run first under ``torch.inference_mode``;
            None for a plain step.
        optimizer: Optimizer over ``student``'s parameters.
        inputs: Normalised images on the device.
        labels: Class indices on the device.
        weights: Loss weights and KD temperature.
        amp_dtype: Autocast dtype; None for fp32.
        compile: Run the networks through ``torch.compile``.
    """

    def __init__(self,
                 name: str,
                 student: nn.Module,
                 teacher: Optional[nn.Module],
                 optimizer: torch.optim.Optimizer,
                 inputs: torch.Tensor,
                 labels: torch.Tensor,
                 weights: KDWeights,
                 amp_dtype: Optional[torch.dtype] = None,
                 compile: bool = False) -> None:
        self.name = name
        self.student = student
        self.teacher = teacher
        self.optimizer = optimizer
        self.inputs = inputs
        self.labels = labels
        self.weights = weights
        self.amp_dtype = amp_dtype
        self.device = inputs.device
        self._student_fn = torch.compile(student) if compile else student
        self._teacher_fn = (torch.compile(teacher) if compile else teacher
                            ) if teacher is not None else None
        # fp16 gradients underflow without loss scaling; bf16 has fp32's
        # exponent range and needs none.
        self.scaler = torch.amp.GradScaler(self.device.type) \
            if amp_dtype == torch.float16 else None

    @property
    def batch_size(self) -> int:
        return len(self.inputs)

    def begin(self, n_steps: int) -> None:
        self.student.train()
        if self.teacher is not None:
            self.teacher.eval()

    def step(self) -> None:
        teacher_logits = None
        if self._teacher_fn is not None:
            with torch.inference_mode(), _autocast(self.device,
                                                   self.amp_dtype):
                teacher_logits = self._teacher_fn(self.inputs)
        with _autocast(self.device, self.amp_dtype):
            logits = self._student_fn(self.inputs)
            loss = self.weights.ce * F.cross_entropy(logits, self.labels)
            if teacher_logits is not None:
                loss = loss + self.weights.kd * hinton_kd_loss(
                    logits, teacher_logits, self.weights.temperature)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)


class HandEvalSteps(Steps):
    """A hand-written evaluation step: the network's forward in eval mode
    under ``torch.inference_mode`` on one batch held on the device.

    Args:
        name: Name of the measurement.
        net: The evaluated network (:class:`LogitsNet`).
        inputs: Normalised images on the device.
        amp_dtype: Autocast dtype; None for fp32.
    """

    def __init__(self, name: str, net: nn.Module, inputs: torch.Tensor,
                 amp_dtype: Optional[torch.dtype] = None) -> None:
        self.name = name
        self.net = net
        self.inputs = inputs
        self.amp_dtype = amp_dtype

    @property
    def batch_size(self) -> int:
        return len(self.inputs)

    def begin(self, n_steps: int) -> None:
        self.net.eval()

    def step(self) -> None:
        with torch.inference_mode(), _autocast(self.inputs.device,
                                               self.amp_dtype):
            self.net(self.inputs)

    def end(self) -> None:
        self.net.train()
