"""The training hooks: NaNLossHook, DeferredRuntimeInfoHook and
DeferredIterTimerHook through
minimal fake runners and a tiny classifier in a real mmengine Runner,
DistillLossWarmupHook and TeacherEvalHook through fake runners."""
import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, List, Optional
from unittest import mock

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import razor_wrn  # noqa: F401  (compat shim before any mmrazor import)
from mmengine.hooks import Hook, IterTimerHook, LoggerHook, RuntimeInfoHook
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.model import BaseModel
from mmengine.model.wrappers import MMDistributedDataParallel
from mmengine.registry import HOOKS
from mmengine.runner import Runner

from razor_wrn.engine.hooks import (DeferredIterTimerHook,
                                    DeferredRuntimeInfoHook,
                                    DistillLossWarmupHook, NaNLossHook,
                                    TeacherEvalHook)
from razor_wrn.engine.hooks.log_history import append_scalars
from razor_wrn.engine.hooks.logger_interval import LoggingIterations

CIFAR10_CLASSES = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog',
                   'frog', 'horse', 'ship', 'truck')


def _on_train_loop(name: str) -> property:
    return property(lambda runner: getattr(runner.train_loop, name),
                    lambda runner, value: setattr(runner.train_loop, name,
                                                  value))


class FakeRunner(SimpleNamespace):
    """A fake runner shaped as mmengine's: the position and the loader live
    on its ``train_loop``, and ``epoch``, ``iter``, ``max_iters`` and
    ``train_dataloader`` read (here also write) them there, so a hook may
    use either."""

    epoch = _on_train_loop('epoch')
    iter = _on_train_loop('iter')
    max_iters = _on_train_loop('max_iters')
    train_dataloader = _on_train_loop('dataloader')

    def __init__(self, epoch: int = 0, iter: int = 0, max_iters: int = 100,
                 train_dataloader=range(100), **attributes) -> None:
        super().__init__(train_loop=SimpleNamespace(
            epoch=epoch, iter=iter, max_iters=max_iters,
            dataloader=train_dataloader), **attributes)


def test_logging_iterations_are_mmengines_logging_points():
    """Every interval, the end of the loader, and the last iteration of a
    run that ends inside an epoch (an iteration-based loop), as mmengine's
    ``Hook`` helpers answer them."""
    hook = Hook()
    answers = []
    for interval in (1, 3, 7):
        for max_iters in (5, 11, 40):
            iterations = LoggingIterations(interval)
            runner = FakeRunner(max_iters=max_iters, train_dataloader=range(7))
            for runner.iter in range(max_iters):
                batch_idx = runner.iter % 7
                answer = iterations(hook, runner, batch_idx)
                assert answer == (
                    hook.every_n_inner_iters(batch_idx, interval)
                    or hook.end_of_epoch(runner.train_dataloader, batch_idx)
                    or hook.is_last_train_iter(runner))
                answers.append(answer)
    # Interval 3, a run of 11 (after the 56 of interval 1 and the 5 of
    # interval 3's first run): 2, 5, 6 (end of loader), 9, 10 (last).
    assert [i for i, a in enumerate(answers[61:72]) if a] == [2, 5, 6, 9, 10]


# ------------------------------------------------------------ NaNLossHook
def nan_runner(epoch: int = 2, iteration: int = 10, log_interval: int = 1):
    """What NaNLossHook reads: the position, a LoggerHook (its interval is
    the default check interval) and a loader far from its end."""
    return FakeRunner(epoch=epoch, iter=iteration,
                      work_dir='work_dirs/wrn16-2',
                      hooks=[LoggerHook(interval=log_interval)],
                      train_dataloader=range(1000), max_iters=10**6)


def started(hook: Hook, runner) -> Hook:
    hook.before_train(runner)
    return hook


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
    runner = nan_runner()
    with pytest.raises(FloatingPointError) as error:
        started(NaNLossHook(), runner).after_train_iter(runner, 0,
                                                        outputs=outputs)
    # epoch and iteration are shown counted from 1.
    assert str(error.value) == advice(3, 11,
                                      'loss=nan, loss_kd=inf, loss_at=-inf')


def test_nan_loss_hook_reads_python_floats():
    runner = nan_runner(0, 0)
    with pytest.raises(FloatingPointError) as error:
        started(NaNLossHook(), runner).after_train_iter(
            runner, 0, outputs={'loss': math.nan, 'loss_kd': 0.5})
    assert str(error.value) == advice(1, 1, 'loss=nan')


def test_nan_loss_hook_checks_what_mmengine_logs():
    """The ``log_vars`` of ``BaseModel.parse_losses``: the total ``loss``
    and each term, as 0-d tensors."""
    _, log_vars = BaseModel.parse_losses(None, {
        'loss_student': torch.tensor([1.0, math.nan]),
        'loss_kd': torch.tensor(0.5),
    })
    runner = nan_runner()
    with pytest.raises(FloatingPointError) as error:
        started(NaNLossHook(), runner).after_train_iter(runner, 0,
                                                        outputs=log_vars)
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
    runner = nan_runner()
    assert started(NaNLossHook(), runner).after_train_iter(
        runner, 0, outputs=outputs) is None


def iterate_until_raised(hook: NaNLossHook, runner, nan_at: int,
                         iterations: int) -> int:
    """Feed ``iterations`` iterations whose ``loss_kd`` is NaN at index
    ``nan_at`` only; return the index at which the hook raised."""
    started(hook, runner)
    for index in range(iterations):
        runner.iter = index
        loss_kd = math.nan if index == nan_at else 0.5
        try:
            hook.after_train_iter(runner, index, outputs={
                'loss': torch.tensor(1.0),
                'loss_kd': torch.tensor(loss_kd)})
        except FloatingPointError as error:
            assert str(error) == advice(1, nan_at + 1, 'loss_kd=nan')
            return index
    raise AssertionError('no FloatingPointError')


@pytest.mark.parametrize('kwargs, log_interval, raised_at', [
    ({}, 1, 1),  # the LoggerHook's interval by default
    ({}, 4, 3),
    ({}, None, 9),  # no LoggerHook: LoggerHook's default of 10
    (dict(interval=6), 4, 5),  # an explicit interval wins
    (dict(interval=1), 4, 1),
])
def test_nan_loss_hook_checks_all_pending_iterations_every_interval(
        kwargs, log_interval, raised_at):
    """The NaN of the 2nd iteration is reported, with its own number, at
    the first check at or after it."""
    runner = nan_runner(0, 0)
    runner.hooks = [] if log_interval is None else [
        LoggerHook(interval=log_interval)]
    assert iterate_until_raised(
        NaNLossHook(**kwargs), runner, nan_at=1, iterations=20) == raised_at


def test_nan_loss_hook_checks_at_the_end_of_the_loader():
    runner = nan_runner(0, 0, log_interval=100)
    runner.train_dataloader = range(7)
    assert iterate_until_raised(NaNLossHook(), runner, nan_at=2,
                                iterations=20) == 6


def test_nan_loss_hook_checks_before_a_checkpoint_is_saved():
    runner = nan_runner(1, 41, log_interval=100)
    hook = started(NaNLossHook(), runner)
    hook.after_train_iter(runner, 3, outputs={'loss': torch.tensor(math.inf)})
    runner.iter = 42
    hook.after_train_iter(runner, 4, outputs={'loss': torch.tensor(1.0)})
    with pytest.raises(FloatingPointError) as error:
        hook.before_save_checkpoint(runner, checkpoint={})
    assert str(error.value) == advice(2, 42, 'loss=inf')
    # Checked losses are forgotten: the next save goes ahead.
    assert hook.before_save_checkpoint(runner, checkpoint={}) is None


def test_nan_loss_hook_needs_a_positive_interval():
    with pytest.raises(ValueError, match='interval must be positive, got 0'):
        NaNLossHook(interval=0)


# ------------------------------------------- DeferredRuntimeInfoHook (fake)
def hub_contents(hub: MessageHub) -> Dict:
    """Every scalar buffer as ``{key: (values, counts, dtype of the
    values)}``."""
    return {key: (buffer.data[0].tolist(), buffer.data[1].tolist(),
                  buffer.data[0].dtype)
            for key, buffer in hub.log_scalars.items()}


def test_deferred_runtime_info_logs_what_mmengine_logs():
    """Mixed outputs (float32 and float16 tensors, an int64 tensor, a
    Python float) give the message hub that RuntimeInfoHook gives, but only
    at each ``interval``-th inner iteration."""
    outputs = [{
        'loss': torch.tensor(0.1 * i + 1 / 3, requires_grad=True),
        'loss_half': torch.tensor(2.0**-i, dtype=torch.float16),
        'count': torch.tensor([i], dtype=torch.int64),
        'lr_scale': 0.5 * i,
    } for i in range(5)]
    plain = SimpleNamespace(message_hub=MessageHub(name='test_plain_hub'))
    deferred = FakeRunner(message_hub=MessageHub(name='test_def_hub'),
                          train_dataloader=range(100), iter=0,
                          max_iters=100)
    hook = DeferredRuntimeInfoHook(interval=2)
    sizes = []
    for batch_idx, output in enumerate(outputs):
        RuntimeInfoHook().after_train_iter(plain, batch_idx, outputs=output)
        deferred.iter = batch_idx
        hook.after_train_iter(deferred, batch_idx, outputs=output)
        loss = deferred.message_hub.log_scalars.get('train/loss')
        sizes.append(0 if loss is None else len(loss.data[0]))
    assert sizes == [0, 2, 2, 4, 4]
    hook.after_train(deferred)  # parent pops loop_stage: absent is fine
    assert hub_contents(deferred.message_hub) == hub_contents(
        plain.message_hub)
    assert set(hub_contents(plain.message_hub)) == {
        'train/loss', 'train/loss_half', 'train/count', 'train/lr_scale'}


def test_appending_scalars_at_once_equals_update_scalar_per_value():
    """Ints that become floats, numpy and tensor values of several dtypes,
    a bounded history that was longer than its bound, a new key."""
    pending = [('train/a', 3), ('train/b', torch.tensor(0.25)),
               ('train/a', np.float32(1.5)), ('train/a', 7),
               ('train/b', torch.tensor(2, dtype=torch.int64)),
               ('train/c', torch.tensor([0.5], dtype=torch.float16)),
               ('train/a', torch.tensor(-1.0, dtype=torch.float64))]
    hubs = []
    for name in ('test_append_one', 'test_append_all'):
        hub = MessageHub(name=name)
        for value in range(6):
            hub.update_scalar('train/a', value)
        hub.log_scalars['train/a'].max_length = 4
        hubs.append(hub)
    one, together = hubs
    for key, value in pending:
        one.update_scalar(key, value)
    append_scalars(together, pending)
    assert hub_contents(together) == hub_contents(one)
    assert list(together.log_scalars) == ['train/a', 'train/b', 'train/c']
    assert hub_contents(one)['train/a'][0] == [3.0, 1.5, 7.0, -1.0]
    with pytest.raises(TypeError, match='log_val must be int or float'):
        append_scalars(together, [('train/a', 1), ('train/a', 'x')])


def test_deferred_timer_logs_what_mmengine_logs_when_it_is_logged():
    """The same times and ETA as IterTimerHook at each logging iteration
    (every 3rd and the end of the loader), nothing in between; a clock that
    the test moves."""
    clock = [100.0]
    runners = [FakeRunner(
        message_hub=MessageHub(name=f'test_timer_{name}'), iter=0,
        max_iters=20, train_dataloader=range(7), epoch=0,
        hooks=[LoggerHook(interval=3)]) for name in ('plain', 'deferred')]
    hooks = [IterTimerHook(), DeferredIterTimerHook()]
    histories = []
    with mock.patch('time.time', lambda: clock[0]):
        for runner, hook in zip(runners, hooks):
            hook.before_train(runner)
            hook.before_train_epoch(runner)
        for batch_idx in range(7):
            clock[0] += 0.01 * (batch_idx + 1)  # loading
            for runner, hook in zip(runners, hooks):
                runner.iter = batch_idx
                hook.before_train_iter(runner, batch_idx)
            clock[0] += 0.25 + batch_idx  # the step
            for runner, hook in zip(runners, hooks):
                hook.after_train_iter(runner, batch_idx)
            plain, deferred = (runner.message_hub for runner in runners)
            if batch_idx in (2, 5, 6):
                assert hub_contents(deferred) == hub_contents(plain)
                assert deferred.get_info('eta') == plain.get_info('eta')
            histories.append(len(deferred.log_scalars.get(
                'train/time', HistoryBuffer()).data[0]))
    assert histories == [0, 0, 3, 3, 3, 6, 7]
    times = plain.get_scalar('train/time').data[0]
    np.testing.assert_allclose(
        times, [0.25 + i + 0.01 * (i + 1) for i in range(7)])
    assert deferred.get_info('eta') == pytest.approx(
        times.mean() * (20 - 6 - 1))


def test_deferred_runtime_info_needs_a_positive_interval():
    with pytest.raises(ValueError, match='interval must be positive, got -1'):
        DeferredRuntimeInfoHook(interval=-1)


# --------------------------- both hooks with a tiny classifier in a Runner
class TinyClassifier(BaseModel):
    """A linear 3-class classifier with two loss terms that records what
    each ``train_step`` returns; ``loss_aux`` is NaN at step ``nan_at``."""

    def __init__(self, nan_at: Optional[int] = None) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.nan_at = nan_at
        self.logged: List[Dict[str, float]] = []

    def forward(self, inputs: torch.Tensor, labels: torch.Tensor,
                mode: str = 'tensor'):
        logits = self.fc(inputs)
        if mode != 'loss':
            return logits
        aux = 0.1 * logits.pow(2).mean()
        if len(self.logged) == self.nan_at:
            aux = aux * math.nan
        return dict(loss_cls=F.cross_entropy(logits, labels), loss_aux=aux)

    def train_step(self, data, optim_wrapper):
        log_vars = super().train_step(data, optim_wrapper)
        self.logged.append({key: value.item()
                            for key, value in log_vars.items()})
        return log_vars


# 10 samples in batches of 2: 5 iterations per epoch.
TINY_DATA = [dict(inputs=torch.linspace(-1, 1, 4) * (i + 1) / 10,
                  labels=i % 3) for i in range(10)]


class HubProbe(Hook):
    """How many ``train/loss`` values the message hub holds after each
    iteration, once every other hook has run."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.sizes: List[int] = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        loss = runner.message_hub.log_scalars.get('train/loss')
        self.sizes.append(0 if loss is None else len(loss.data[0]))


def tiny_runner(work_dir: Path, runtime_info: str = 'DeferredRuntimeInfoHook',
                by_epoch: bool = True, checkpoint: Optional[Dict] = None,
                custom_hooks: Optional[List] = None,
                nan_at: Optional[int] = None,
                log_processor: Optional[Dict] = None) -> Runner:
    """2 epochs (or 5 iterations, one pass over the loader: mmengine's
    iteration-based loop pauses 2 s when it restarts one) of TinyClassifier,
    logging every 3 iterations and at the end of the loader."""
    torch.manual_seed(0)  # the same initial weights in every run
    train_cfg = (dict(by_epoch=True, max_epochs=2) if by_epoch else
                 dict(by_epoch=False, max_iters=5))
    return Runner(
        model=TinyClassifier(nan_at),
        work_dir=str(work_dir),
        # Runners named alike would share one MessageHub instance.
        experiment_name=f'{work_dir.parent.name}_{work_dir.name}',
        train_dataloader=dict(
            dataset=TINY_DATA,
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            num_workers=0,
            collate_fn=dict(type='default_collate')),
        train_cfg=train_cfg,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.5)),
        default_hooks=dict(
            runtime_info=dict(type=runtime_info),
            # ignore_last=False: it also logs each epoch's last iteration.
            logger=dict(type='LoggerHook', interval=3, ignore_last=False),
            checkpoint=checkpoint),
        custom_hooks=custom_hooks or [],
        log_processor=dict(by_epoch=by_epoch, **(log_processor or {})),
        randomness=dict(seed=0),
        log_level='WARNING')


LOSS_KEYS = ('loss', 'loss_cls', 'loss_aux')


def logged_losses(work_dir: Path) -> List[Dict]:
    """The loss entries of the LoggerHook's ``scalars.json``."""
    (path, ) = work_dir.glob('*/vis_data/scalars.json')
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [{key: line[key] for key in ('step', ) + LOSS_KEYS}
            for line in lines]


def test_deferred_runtime_info_equals_mmengine_in_a_runner(tmp_path):
    """The same message hub and the same log as mmengine's RuntimeInfoHook,
    with the losses converted only when the LoggerHook logs (every 3rd
    iteration) and at the end of each epoch."""
    runs = {}
    for hook in ('RuntimeInfoHook', 'DeferredRuntimeInfoHook'):
        probe = HubProbe()
        runner = tiny_runner(tmp_path / hook, hook, custom_hooks=[probe])
        runner.train()
        runs[hook] = SimpleNamespace(runner=runner, probe=probe)
    plain, deferred = runs['RuntimeInfoHook'], runs['DeferredRuntimeInfoHook']

    assert plain.probe.sizes == list(range(1, 11))
    assert deferred.probe.sizes == [0, 0, 3, 3, 5, 5, 5, 8, 8, 10]
    steps = plain.runner.model.logged
    assert deferred.runner.model.logged == steps  # the same training
    assert len(steps) == 10 and len(set(s['loss'] for s in steps)) == 10
    for key in LOSS_KEYS:
        values, counts = deferred.runner.message_hub.get_scalar(
            f'train/{key}').data
        assert values.tolist() == [step[key] for step in steps]
        assert counts.tolist() == [1] * 10
        np.testing.assert_array_equal(
            values,
            plain.runner.message_hub.get_scalar(f'train/{key}').data[0])
    logged = logged_losses(tmp_path / 'DeferredRuntimeInfoHook')
    assert [line['step'] for line in logged] == [3, 5, 8, 10]
    assert logged == logged_losses(tmp_path / 'RuntimeInfoHook')


def test_deferred_runtime_info_flushes_into_each_checkpoint(tmp_path):
    """An iteration-based run logging every 3 iterations, saving every 2
    and at the end: each checkpoint's message hub holds every loss so
    far."""
    runner = tiny_runner(
        tmp_path, by_epoch=False,
        checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2))
    runner.train()
    steps = runner.model.logged
    assert len(steps) == 5
    for n in (2, 4, 5):
        checkpoint = torch.load(tmp_path / f'iter_{n}.pth',
                                weights_only=False)
        scalars = checkpoint['message_hub']['log_scalars']
        for key in LOSS_KEYS:
            values, counts = scalars[f'train/{key}'].data
            assert values.tolist() == [step[key] for step in steps[:n]]
            assert counts.tolist() == [1] * n


def test_the_training_history_keeps_what_the_logs_read(tmp_path):
    """mmengine's buffers copy their whole history per value (a run slows
    down as it goes): the hook keeps one epoch (5 iterations), or the
    log processor's window if larger, and everything for a 'global' window;
    the log is mmengine's either way."""
    windows = {'epoch': dict(window_size=3),
               'window': dict(window_size=7),
               'global': dict(window_size=3, custom_cfg=[dict(
                   data_src='loss', method_name='mean',
                   window_size='global', log_name='loss_global')])}
    kept = {}
    for name, log_processor in windows.items():
        runs = {}
        for hook in ('RuntimeInfoHook', 'DeferredRuntimeInfoHook'):
            runner = tiny_runner(
                tmp_path / name / hook, hook, log_processor=log_processor,
                checkpoint=dict(type='CheckpointHook', interval=1))
            runner.train()
            runs[hook] = runner
        steps = runs['DeferredRuntimeInfoHook'].model.logged
        assert runs['RuntimeInfoHook'].model.logged == steps
        hub = runs['DeferredRuntimeInfoHook'].message_hub
        kept[name] = {key: len(hub.get_scalar(f'train/{key}').data[0])
                      for key in ('loss', 'loss_aux', 'lr', 'time')}
        values = hub.get_scalar('train/loss').data[0].tolist()
        assert values == [step['loss'] for step in steps][-len(values):]
        saved = torch.load(tmp_path / name / 'DeferredRuntimeInfoHook' /
                           'epoch_2.pth', weights_only=False)
        assert len(saved['message_hub']['log_scalars']['train/loss'].data[
            0]) == kept[name]['loss']
        assert logged_losses(tmp_path / name / 'DeferredRuntimeInfoHook') \
            == logged_losses(tmp_path / name / 'RuntimeInfoHook')
    assert kept == {'epoch': dict(loss=5, loss_aux=5, lr=5, time=5),
                    'window': dict(loss=7, loss_aux=7, lr=7, time=7),
                    'global': dict(loss=10, loss_aux=10, lr=10, time=10)}


@pytest.mark.parametrize('nan_at, checkpoint, position, steps, kept', [
    # 4th iteration: not a check, but iter_4.pth would be saved.
    (3, dict(type='CheckpointHook', by_epoch=False, interval=2),
     'epoch 1, iteration 4', 4, ['iter_2.pth']),
    # 2nd iteration of epoch 2: found at the 3rd (a logging iteration),
    # though the NaN weights made every later loss NaN too.
    (6, dict(type='CheckpointHook', interval=1),
     'epoch 2, iteration 7', 8, ['epoch_1.pth']),
])
def test_nan_loss_hook_in_a_runner_saves_no_nan_state(
        tmp_path, nan_at, checkpoint, position, steps, kept):
    runner = tiny_runner(tmp_path, checkpoint=checkpoint,
                         custom_hooks=[dict(type='NaNLossHook')],
                         nan_at=nan_at)
    with pytest.raises(FloatingPointError) as error:
        runner.train()
    assert str(error.value).startswith(
        f'Non-finite loss at {position}: loss=nan, loss_aux=nan. Training '
        'stopped before saving this state;')
    assert len(runner.model.logged) == steps
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == kept


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
