"""The training hooks, driven through minimal fake runners: NaNLossHook,
DistillLossWarmupHook and TeacherEvalHook."""
import math
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
from torch import nn

import razor_wrn  # noqa: F401  (compat shim before any mmrazor import)
from mmengine.model import BaseModel
from mmengine.model.wrappers import MMDistributedDataParallel
from mmengine.registry import HOOKS

from razor_wrn.engine.hooks import (DistillLossWarmupHook, NaNLossHook,
                                    TeacherEvalHook)

CIFAR10_CLASSES = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog',
                   'frog', 'horse', 'ship', 'truck')


# ------------------------------------------------------------ NaNLossHook
def nan_runner(epoch: int = 2, iteration: int = 10):
    """What NaNLossHook and Hook.every_n_train_iters read."""
    return SimpleNamespace(epoch=epoch, iter=iteration,
                           work_dir='work_dirs/wrn16-2')


def advice(epoch: int, iteration: int, terms: str) -> str:
    return (f'Non-finite loss at epoch {epoch}, iteration {iteration}: '
            f'{terms}. Training stopped before saving this state; '
            "checkpoints already in 'work_dirs/wrn16-2' are kept. Lower the "
            'learning rate, check the data and the teacher checkpoint, or '
            'disable --amp, then resume with --resume.')


def test_nan_loss_hook_names_the_non_finite_terms():
    outputs = {
        'loss': torch.tensor(math.nan),
        'loss_student': torch.tensor(1.25),
        'loss_kd': torch.tensor(math.inf),
        'loss_at': torch.tensor(-math.inf),
        'accuracy': torch.tensor(math.nan),  # not a loss: not checked
    }
    with pytest.raises(FloatingPointError) as error:
        NaNLossHook().after_train_iter(nan_runner(), 0, outputs=outputs)
    # epoch and iteration are shown counted from 1.
    assert str(error.value) == advice(3, 11,
                                      'loss=nan, loss_kd=inf, loss_at=-inf')


def test_nan_loss_hook_reads_python_floats():
    with pytest.raises(FloatingPointError) as error:
        NaNLossHook().after_train_iter(
            nan_runner(0, 0), 0, outputs={'loss': math.nan, 'loss_kd': 0.5})
    assert str(error.value) == advice(1, 1, 'loss=nan')


def test_nan_loss_hook_checks_what_mmengine_logs():
    """The ``log_vars`` of ``BaseModel.parse_losses``: the total ``loss``
    and each term, as 0-d tensors."""
    _, log_vars = BaseModel.parse_losses(None, {
        'loss_student': torch.tensor([1.0, math.nan]),
        'loss_kd': torch.tensor(0.5),
    })
    with pytest.raises(FloatingPointError) as error:
        NaNLossHook().after_train_iter(nan_runner(), 0, outputs=log_vars)
    assert str(error.value) == advice(3, 11, 'loss=nan, loss_student=nan')


@pytest.mark.parametrize('outputs', [
    {'loss': torch.tensor(2.5), 'loss_kd': torch.tensor(0.0)},
    {'loss': 1e30, 'loss_kd': -3.0},
    {'accuracy': math.nan},
    {},
    None,
],
                         ids=['tensors', 'floats', 'no-loss', 'empty', 'none'])
def test_nan_loss_hook_is_silent_on_finite_losses(outputs):
    assert NaNLossHook().after_train_iter(
        nan_runner(), 0, outputs=outputs) is None


def test_nan_loss_hook_checks_every_interval_iterations():
    hook = HOOKS.build(dict(type='NaNLossHook', interval=5))
    outputs = {'loss': torch.tensor(math.nan)}
    for iteration in (0, 1, 2, 3, 5, 8, 10):
        hook.after_train_iter(nan_runner(0, iteration), 0, outputs=outputs)
    for iteration in (4, 9, 14):  # the 5th, 10th and 15th iterations
        with pytest.raises(FloatingPointError,
                           match=f'iteration {iteration + 1}:'):
            hook.after_train_iter(nan_runner(0, iteration), 0,
                                  outputs=outputs)


# -------------------------------------------------- DistillLossWarmupHook
class WeightedLoss(nn.Module):

    def __init__(self, loss_weight: float) -> None:
        super().__init__()
        self.loss_weight = loss_weight


def warmup_runner(**weights):
    distiller = SimpleNamespace(distill_losses=nn.ModuleDict(
        {name: WeightedLoss(weight) for name, weight in weights.items()}))
    return SimpleNamespace(epoch=0, model=SimpleNamespace(distiller=distiller))


def weights_by_epoch(hook, runner, epochs):
    model = getattr(runner.model, 'module', runner.model)
    losses = model.distiller.distill_losses
    history = []
    for epoch in epochs:
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        history.append({name: loss.loss_weight
                        for name, loss in losses.items()})
    return history


def test_warmup_ramps_the_named_losses_linearly():
    runner = warmup_runner(loss_dkd=8.0, loss_kd=3.0)
    hook = DistillLossWarmupHook(['loss_dkd'], warmup_epochs=4)
    hook.before_train(runner)

    assert weights_by_epoch(hook, runner, range(6)) == [
        {'loss_dkd': 2.0, 'loss_kd': 3.0},
        {'loss_dkd': 4.0, 'loss_kd': 3.0},
        {'loss_dkd': 6.0, 'loss_kd': 3.0},
        {'loss_dkd': 8.0, 'loss_kd': 3.0},
        {'loss_dkd': 8.0, 'loss_kd': 3.0},
        {'loss_dkd': 8.0, 'loss_kd': 3.0},
    ]


def test_warmup_scales_several_losses_from_their_own_final_weight():
    runner = warmup_runner(loss_a=1.0, loss_b=10.0)
    hook = DistillLossWarmupHook(['loss_a', 'loss_b'], warmup_epochs=2)
    hook.before_train(runner)

    assert weights_by_epoch(hook, runner, [0, 1]) == [
        {'loss_a': 0.5, 'loss_b': 5.0},
        {'loss_a': 1.0, 'loss_b': 10.0},
    ]


def test_warmup_does_not_compound_and_resumes_mid_ramp():
    runner = warmup_runner(loss_dkd=8.0)
    hook = DistillLossWarmupHook(['loss_dkd'], warmup_epochs=4)
    hook.before_train(runner)

    # The same epoch started twice, then a run resumed at epoch 3 (index 2).
    assert weights_by_epoch(hook, runner, [0, 0, 2]) == [
        {'loss_dkd': 2.0}, {'loss_dkd': 2.0}, {'loss_dkd': 6.0}]


def test_warmup_of_one_epoch_gives_the_full_weight_at_once():
    runner = warmup_runner(loss_dkd=8.0)
    hook = HOOKS.build(dict(type='DistillLossWarmupHook',
                            loss_names=['loss_dkd'], warmup_epochs=1))
    hook.before_train(runner)

    assert weights_by_epoch(hook, runner, [0]) == [{'loss_dkd': 8.0}]


def test_warmup_unwraps_a_distributed_model():
    runner = warmup_runner(loss_dkd=8.0)
    model = nn.Module()
    model.distiller = runner.model.distiller
    # An MMDistributedDataParallel without a process group: only the
    # ``.module`` the hook unwraps is needed.
    wrapper = MMDistributedDataParallel.__new__(MMDistributedDataParallel)
    nn.Module.__init__(wrapper)
    wrapper.module = model
    runner.model = wrapper
    hook = DistillLossWarmupHook(['loss_dkd'], warmup_epochs=4)
    hook.before_train(runner)

    assert weights_by_epoch(hook, runner, [1]) == [{'loss_dkd': 4.0}]


def test_warmup_unknown_loss_names_the_available_ones():
    runner = warmup_runner(loss_kd=1.0, loss_fm=2.0)
    hook = DistillLossWarmupHook(['loss_kd', 'loss_dkd'], warmup_epochs=2)

    with pytest.raises(KeyError) as error:
        hook.before_train(runner)
    assert error.value.args == (
        "DistillLossWarmupHook: no distill losses named ['loss_dkd']; the "
        "distiller has ['loss_kd', 'loss_fm'].", )
    # Nothing was scaled.
    assert runner.model.distiller.distill_losses['loss_kd'].loss_weight == 1.0


@pytest.mark.parametrize('warmup_epochs', [0, -2])
def test_warmup_needs_at_least_one_epoch(warmup_epochs):
    with pytest.raises(ValueError) as error:
        DistillLossWarmupHook(['loss_dkd'], warmup_epochs=warmup_epochs)
    assert str(error.value) == (
        f'warmup_epochs must be >= 1, got {warmup_epochs}.')


# ------------------------------------------------------- TeacherEvalHook
class TeacherLoop:
    """The part of TeacherStudentValLoop that the hook uses."""

    def __init__(self, metrics):
        self.metrics = metrics
        self.calls = 0

    def evaluate_teacher(self):
        self.calls += 1
        return dict(self.metrics)


def teacher_runner(val_loop, classes=CIFAR10_CLASSES):
    dataset = SimpleNamespace(
        metainfo=None if classes is None else {'classes': classes})
    return SimpleNamespace(
        val_loop=val_loop,
        val_dataloader=SimpleNamespace(dataset=dataset),
        logger=mock.Mock(spec=['info', 'warning']))


def test_teacher_eval_logs_metrics_and_warns_near_chance():
    loop = TeacherLoop({'accuracy/top1': 15.0, 'accuracy/top5': 52.5})
    runner = teacher_runner(loop)

    TeacherEvalHook().before_train(runner)
    assert loop.calls == 1
    runner.logger.info.assert_called_once_with(
        'Teacher on the validation set: accuracy/top1: 15.00  '
        'accuracy/top5: 52.50')
    runner.logger.warning.assert_called_once_with(
        'The teacher reaches only 15.00% top-1 (chance is 10.00%): check '
        'model.teacher_ckpt and that the teacher config matches it.')


@pytest.mark.parametrize('top1, margin, classes, warned', [
    (19.99, 2.0, CIFAR10_CLASSES, True),
    (20.0, 2.0, CIFAR10_CLASSES, False),  # exactly 2 x chance: fine
    (15.0, 1.0, CIFAR10_CLASSES, False),
    (35.0, 4.0, CIFAR10_CLASSES, True),
    (1.5, 2.0, tuple(f'c{i}' for i in range(100)), True),
    (2.5, 2.0, tuple(f'c{i}' for i in range(100)), False),
    (0.0, 2.0, None, False),  # chance level unknown
    (0.0, 2.0, (), False),
])
def test_teacher_eval_warns_below_margin_times_chance(
        top1, margin, classes, warned):
    runner = teacher_runner(TeacherLoop({'accuracy/top1': top1}), classes)

    TeacherEvalHook(chance_margin=margin).before_train(runner)
    runner.logger.info.assert_called_once_with(
        f'Teacher on the validation set: accuracy/top1: {top1:.2f}')
    assert runner.logger.warning.call_count == int(warned)


def test_teacher_eval_needs_top1_to_warn():
    runner = teacher_runner(TeacherLoop({'loss': 2.3}))

    TeacherEvalHook().before_train(runner)
    runner.logger.info.assert_called_once_with(
        'Teacher on the validation set: loss: 2.30')
    runner.logger.warning.assert_not_called()


@pytest.mark.parametrize('val_loop', [None, SimpleNamespace(run=None)],
                         ids=['no-validation', 'plain-val-loop'])
def test_teacher_eval_without_a_teacher_loop_only_warns(val_loop):
    runner = teacher_runner(val_loop)

    HOOKS.build(dict(type='TeacherEvalHook')).before_train(runner)
    runner.logger.warning.assert_called_once_with(
        'TeacherEvalHook: no TeacherStudentValLoop (validation is off or '
        'val_cfg uses another loop), so the teacher is not checked before '
        'training.')
    runner.logger.info.assert_not_called()
