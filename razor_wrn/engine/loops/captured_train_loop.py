"""mmengine's epoch loop with each training step replayed as a CUDA graph.

``tools/train.py --compile`` (or ``train_cfg = dict(type=
'CapturedEpochBasedTrainLoop', max_epochs=..., val_interval=...)``) selects
it. It trains exactly what ``EpochBasedTrainLoop`` trains — the same batches,
``model.train_step`` and optimizer wrapper, hooks and checkpoints — with two
differences in how:

- Batches travel as two tensors, images and labels
  (:mod:`.loader_tensor_batches`): the device-resident loaders hold them so;
  a standard loader's workers make them whole from arrays of the split
  where its pipeline is the CIFAR configs', else collate them. A
  ``WRNClassifier`` (also as a distiller's student) takes the label tensor
  as it is; for other models the step builds the samples from it, so they
  see what they always see.
- On CUDA each step is recorded once as a CUDA graph and replayed
  (:class:`~.step_graphs.StepGraphs`): no Python, mmengine or per-operation
  launch cost per iteration. Every batch is trained, the last smaller one of
  an epoch by a graph of its own.

Where a model needs more of a batch than images and labels (a teacher bank
looks up each image's view, CRD's memory bank each image's index), or runs
on several processes (DDP synchronises inside ``backward``), each step is
the standard one. Where a step reads the GPU from the host (fp16 loss
scaling checks for overflow every step; gradient clipping logs the norm) or
the device is a CPU, steps run eagerly on tensor batches. One log line at
the start says which of the three applies and why.
"""
import logging
from typing import Dict, Iterator, List, Optional, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import AmpOptimWrapper
from mmengine.registry import LOOPS
from mmengine.runner import EpochBasedTrainLoop
from mmpretrain.structures import DataSample
from torch.utils.data import DataLoader

from .loader_tensor_batches import LoaderTensorBatches
from .step_graphs import RecordingError, StepGraphs

# Eager steps of each recorded shape and set of Python numbers before it is
# recorded (cuDNN's algorithm search and the optimizer's state are set up
# there).
WARMUP_STEPS = 3


def standard_step_reason(model: torch.nn.Module) -> Optional[str]:
    """Why this model needs the standard per-sample step, or None.

    Args:
        model (nn.Module): The runner's model, possibly wrapped.

    Returns:
        str | None: The reason, for the log line.
    """
    if is_model_wrapper(model):
        return ('several processes (DDP synchronises gradients inside '
                'backward)')
    if getattr(model, 'teacher_bank', None) is not None:
        return "a teacher bank looks up each image's augmented view"
    distiller = getattr(model, 'distiller', None)
    losses = getattr(distiller, 'distill_losses', {}) if distiller else {}
    for name, loss in losses.items():
        if type(loss).__name__ == 'ContrastiveRepresentationLoss':
            return (f"{name} (CRD) updates its memory bank by each image's "
                    'index')
    return None


def eager_step_reason(optim_wrapper, device: torch.device) -> Optional[str]:
    """Why tensor-batch steps cannot be recorded as CUDA graphs, or None.

    Args:
        optim_wrapper (OptimWrapper): The runner's optimizer wrapper.
        device (torch.device): Where the model's parameters are.

    Returns:
        str | None: The reason, for the log line.
    """
    if device.type != 'cuda':
        return f'CUDA graphs need a CUDA device (the model is on {device})'
    if isinstance(optim_wrapper, AmpOptimWrapper):
        return ('fp16 loss scaling reads the GPU every step; use --amp bf16, '
                'which needs no scaling')
    if getattr(optim_wrapper, 'clip_grad_kwargs', None):
        return 'gradient clipping reads the gradient norm every step'
    if getattr(optim_wrapper, '_accumulative_counts', 1) != 1:
        return 'gradient accumulation steps the optimizer every few batches'
    return None


ITERATION_STAGES = ('before_train_iter', 'after_train_iter')


def hooks_doing(runner, stage: str) -> List[Hook]:
    """The runner's hooks, in call order, whose ``stage`` method does
    something: mmengine's ``Hook`` passes ``before_train_iter`` and
    ``after_train_iter`` on to ``_before_iter``/``_after_iter``, which do
    nothing unless a subclass overrides one of the two.

    Args:
        runner (Runner): A runner whose hooks are registered.
        stage (str): ``'before_train_iter'`` or ``'after_train_iter'``.

    Returns:
        list[Hook]: The hooks that ``runner.call_hook(stage)`` would run
        with an effect.
    """
    inner = '_before_iter' if stage.startswith('before') else '_after_iter'
    return [hook for hook in runner.hooks
            if any(getattr(type(hook), name) is not getattr(Hook, name)
                   for name in (stage, inner))]


@LOOPS.register_module()
class CapturedEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` whose steps take tensor batches and, on CUDA,
    are replayed CUDA graphs (see the module docstring).

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | DeviceTensorLoader | dict): Training data.
        max_epochs (int): Epochs to train.
        val_begin (int): First epoch that validates.
        val_interval (int): Validate every ``val_interval`` epochs.
        dynamic_intervals (list, optional): ``(epoch, interval)`` changes.
        capture (bool): Record CUDA graphs where possible; False runs every
            step eagerly on tensor batches.
    """

    def __init__(self,
                 runner,
                 dataloader,
                 max_epochs: int,
                 val_begin: int = 1,
                 val_interval: int = 1,
                 dynamic_intervals: Optional[List[Tuple[int, int]]] = None,
                 capture: bool = True) -> None:
        super().__init__(runner, dataloader, max_epochs, val_begin,
                         val_interval, dynamic_intervals)
        self.capture = capture
        self.mode = 'standard'
        self.graphs: Optional[StepGraphs] = None
        self._label_tensor = False
        self._batches = LoaderTensorBatches()
        # Found at the first iteration, once every hook is registered.
        self._iteration_hooks: Optional[Dict[str, List[Hook]]] = None

    def run(self) -> torch.nn.Module:
        self._choose_mode()
        return super().run()

    def _choose_mode(self) -> None:
        model = self.runner.model
        # The classifier that computes the task loss (a distiller's student)
        # may take the labels as one tensor instead of a sample per image.
        student = getattr(model, 'student', model)
        self._label_tensor = bool(getattr(student, 'takes_label_tensor',
                                          False))
        reason = standard_step_reason(model)
        if reason is not None:
            self.mode = 'standard'
            message = f'Standard training steps: {reason}.'
        else:
            device = next(model.parameters()).device
            reason = eager_step_reason(self.runner.optim_wrapper, device) \
                if self.capture else 'capture=False'
            self.mode = 'eager' if reason else 'graph'
            if not reason:
                # Emulated (nothing recorded) off CUDA: only the tests get
                # here, to check the loop's bookkeeping on a CPU.
                self.graphs = StepGraphs(
                    self._tensor_step, WARMUP_STEPS,
                    emulate=device.type != 'cuda')
            if reason:
                message = f'Eager training steps on tensor batches: {reason}.'
            else:
                torch.backends.cudnn.benchmark = True
                message = (
                    'CUDA graph training steps: each batch shape (the last, '
                    'smaller batch of an epoch has its own) is recorded '
                    f'after {WARMUP_STEPS} eager steps and again whenever the '
                    'learning rate or a loss weight changes; cuDNN benchmark '
                    'on.')
            how = self._batches.prepare(self.dataloader)
            if how:
                message += f' Training batches: {how}.'
        print_log(message, logger='current', level=logging.INFO)

    def handover(self, loader) -> str:
        """How ``loader``'s batches become tensor batches, for a log line
        ('' for a device loader)."""
        return self._batches.handover(loader)

    def worker_loaders(self) -> List[DataLoader]:
        """The loaders this loop built beside the Runner's (their workers
        are stopped with the Runner's: ``stop_loader_workers``)."""
        return self._batches.worker_loaders()

    def run_epoch(self) -> None:
        if self.mode == 'standard':
            return super().run_epoch()
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        for idx, batch in enumerate(self.tensor_batches(self.dataloader)):
            self.run_tensor_iter(idx, batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def run_tensor_iter(self, idx: int, batch: Dict[str, torch.Tensor]
                        ) -> None:
        """One training iteration on a tensor batch: the hooks around one
        (eager or replayed) step, as ``run_iter`` does for a data batch
        (only the hooks that do something per iteration are called: one
        Python call each instead of ``call_hook``'s loop over every hook).

        Args:
            idx (int): Index of the batch in its epoch.
            batch (dict): ``inputs`` uint8 ``(B, C, H, W)`` and ``labels``
                int64 ``(B,)`` on the model's device.
        """
        runner = self.runner
        if self._iteration_hooks is None:
            self._iteration_hooks = {stage: hooks_doing(runner, stage)
                                     for stage in ITERATION_STAGES}
        for hook in self._iteration_hooks['before_train_iter']:
            hook.before_train_iter(runner, batch_idx=idx, data_batch=batch)
        outputs = self._step(batch['inputs'], batch['labels'])
        for hook in self._iteration_hooks['after_train_iter']:
            hook.after_train_iter(runner, batch_idx=idx, data_batch=batch,
                                  outputs=outputs)
        self._iter += 1

    def _step(self, inputs: torch.Tensor,
              labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        if self.mode == 'graph':
            try:
                return self.graphs(inputs, labels, self._python_numbers())
            except RecordingError as error:
                # Recording left gradients in the graph's memory: drop them,
                # then train this batch and the rest eagerly.
                self.runner.optim_wrapper.optimizer.zero_grad(
                    set_to_none=True)
                self.mode = 'eager'
                print_log(
                    f'Recording the training step as a CUDA graph failed '
                    f'({error}); training continues with eager steps.',
                    logger='current', level=logging.WARNING)
        return self._tensor_step(inputs, labels)

    def _tensor_step(self, inputs: torch.Tensor,
                     labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``model.train_step`` on a batch given as tensors.

        Args:
            inputs (torch.Tensor): uint8 images ``(B, C, H, W)``.
            labels (torch.Tensor): int64 labels ``(B,)``, on the model's
                device.

        Returns:
            dict[str, torch.Tensor]: The logged losses.
        """
        if self._label_tensor:
            samples = labels
        else:
            # (1,) views of the label tensor, as the loaders' samples hold
            # them; a recorded step reads them from the static label buffer.
            samples = [DataSample().set_gt_label(label)
                       for label in labels.split(1)]
        return self.runner.model.train_step(
            dict(inputs=inputs, data_samples=samples),
            optim_wrapper=self.runner.optim_wrapper)

    def _python_numbers(self) -> Tuple:
        """The Python numbers a recorded step bakes in: each parameter
        group's hyper-parameters and each distillation loss's weight."""
        numbers: List = []
        for group in self.runner.optim_wrapper.optimizer.param_groups:
            numbers.extend(value for key, value in sorted(group.items())
                           if key != 'params' and isinstance(
                               value, (int, float, bool)))
        model = self.runner.model
        distiller = getattr(model, 'distiller', None)
        if distiller is not None:
            numbers.append(bool(getattr(model, 'distillation_stopped',
                                        False)))
            numbers.extend(
                getattr(loss, 'loss_weight', None)
                for loss in distiller.distill_losses.values())
        return tuple(numbers)

    def tensor_batches(self, loader) -> Iterator[Dict[str, torch.Tensor]]:
        """An epoch of ``loader`` as ``dict(inputs=uint8 (B, C, H, W),
        labels=int64 (B,))`` on the model's device
        (:class:`~.loader_tensor_batches.LoaderTensorBatches`).

        Args:
            loader (DataLoader | DeviceTensorLoader): Training batches.
        """
        device = next(self.runner.model.parameters()).device
        return self._batches.epoch(loader, device)
