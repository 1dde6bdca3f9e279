"""``CapturedEpochBasedTrainLoop`` trains exactly what mmengine's epoch loop
trains: same weights, BN buffers and momentum, bit for bit, with the tensor
batches, with recorded-step bookkeeping (emulated on the CPU) across a
learning-rate milestone and a smaller last batch, and for distillation."""
import copy
from types import SimpleNamespace
from typing import Dict

import pytest
import torch

import razor_wrn  # noqa: F401  (compat shim before any mmrazor import)
from mmengine.config import Config
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import RUNNERS
from mmengine.dataset import default_collate
from mmpretrain.structures import DataSample
from torch import nn
from torch.utils.data import DataLoader

from razor_wrn.datasets import grouped_loader as grouped_loader_module
from razor_wrn.datasets.batched_split import BatchedSplit
from razor_wrn.datasets.tensor_collate import (TensorCollate,
                                               reduce_to_tensors)
from razor_wrn.engine.loader_workers import stop_loader_workers
from razor_wrn.engine.loops import captured_train_loop as loop_module
from razor_wrn.engine.loops.captured_train_loop import (eager_step_reason,
                                                        standard_step_reason)
from razor_wrn.engine.loops.loader_tensor_batches import \
    collate_tensors_in_workers
from razor_wrn.engine.loops.step_graphs import RecordingError, StepGraphs
import tiny_runs

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning')



def classifier() -> Dict:
    return tiny_runs.classifier()


def wrn_classifier() -> Dict:
    """A WRNClassifier: its loss takes the labels as one tensor."""
    return tiny_runs.classifier('WRNClassifier')


def dkd() -> Dict:
    """DKD between WRNClassifiers: the labels reach the loss through a
    recorder of the student head's loss module."""
    model = tiny_runs.hinton_kd(wrn_classifier())
    distiller = model['distiller']
    distiller['student_recorders']['loss_inputs'] = dict(
        type='ModuleInputs', source='head.loss_module')
    distiller['distill_losses'] = dict(loss_dkd=dict(
        type='DecoupledKDLoss', alpha=1.0, beta=8.0, temperature=4.0))
    distiller['loss_forward_mappings'] = dict(loss_dkd=dict(
        preds_S=dict(from_student=True, recorder='logits'),
        preds_T=dict(from_student=False, recorder='logits'),
        gt_labels=dict(from_student=True, recorder='loss_inputs',
                       data_idx=1)))
    return model


def hinton_kd() -> Dict:
    return tiny_runs.hinton_kd(classifier())


def device_loader(data_root: str) -> Dict:
    return tiny_runs.device_loader(data_root, train=True)


def standard_loader(data_root: str) -> Dict:
    return tiny_runs.standard_loader(data_root, train=True)


def train(model: Dict, loader: Dict, work_dir: str, loop_type=None,
          epochs: int = 4) -> object:
    """Train 20 images in batches of 8, 8, 4 for ``epochs`` epochs, lr /10
    after epoch 3; return the runner."""
    train_cfg = dict(by_epoch=True, max_epochs=epochs) if loop_type is None \
        else dict(type=loop_type, max_epochs=epochs)
    runner = RUNNERS.build(Config(dict(
        runner_type='DeviceDataRunner', default_scope='mmpretrain',
        model=model, work_dir=work_dir, train_dataloader=loader,
        # Runners of one name and second would share one message hub.
        experiment_name=work_dir.replace('/', '_'),
        train_cfg=train_cfg,
        optim_wrapper=dict(optimizer=dict(
            type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4)),
        param_scheduler=dict(type='MultiStepLR', by_epoch=True,
                             milestones=[3], gamma=0.1),
        default_hooks=dict(checkpoint=None),
        randomness=dict(seed=3), log_level='WARNING')))
    runner.train()
    return runner


def assert_same_training(expected, actual) -> None:
    """Identical weights, BN buffers, momentum buffers and iteration."""
    assert actual.iter == expected.iter
    want = expected.model.state_dict()
    got = actual.model.state_dict()
    assert list(got) == list(want)
    for key in want:
        assert torch.equal(got[key], want[key]), key
    want = expected.optim_wrapper.optimizer.state_dict()['state']
    got = actual.optim_wrapper.optimizer.state_dict()['state']
    assert len(got) == len(want) > 0
    for index in want:
        assert torch.equal(got[index]['momentum_buffer'],
                           want[index]['momentum_buffer']), index


@pytest.fixture(scope='module')
def data_root(make_tiny_cifar10) -> str:
    return make_tiny_cifar10(per_class_train=2, per_class_test=1)


@pytest.fixture(scope='module')
def standard_vanilla(data_root, tmp_path_factory):
    return train(classifier(), device_loader(data_root),
                 str(tmp_path_factory.mktemp('standard')))


def test_eager_tensor_steps_train_as_the_standard_loop(
        standard_vanilla, data_root, tmp_path):
    runner = train(classifier(), device_loader(data_root), str(tmp_path),
                   'CapturedEpochBasedTrainLoop')
    assert runner.train_loop.mode == 'eager'
    assert runner.iter == 12  # 3 batches x 4 epochs, none dropped
    assert_same_training(standard_vanilla, runner)
    # The per-iteration hooks ran as call_hook runs them: the runtime info
    # (its own methods) and the timer (through _before_iter/_after_iter).
    want, got = (r.message_hub.log_scalars for r in (standard_vanilla,
                                                      runner))
    assert list(got) == list(want)
    for key in ('train/lr', 'train/loss'):
        assert got[key].data[0].tolist() == want[key].data[0].tolist()
    for key in ('train/time', 'train/data_time'):
        assert len(got[key].data[0]) == len(want[key].data[0]) == 12


def test_the_loop_calls_the_hooks_that_work_per_iteration():
    """mmengine's Hook passes before/after_train_iter on to _before_iter/
    _after_iter; a hook overriding either does work there."""
    from mmengine.hooks import (Hook, IterTimerHook, LoggerHook,
                                ParamSchedulerHook, RuntimeInfoHook)

    class AfterIter(Hook):
        def _after_iter(self, *args, **kwargs) -> None:
            pass

    hooks = [RuntimeInfoHook(), IterTimerHook(), Hook(), LoggerHook(),
             AfterIter(), ParamSchedulerHook()]
    runner = SimpleNamespace(hooks=hooks)
    names = {stage: [type(hook).__name__ for hook in
                     loop_module.hooks_doing(runner, stage)]
             for stage in loop_module.ITERATION_STAGES}
    assert names == {
        'before_train_iter': ['RuntimeInfoHook', 'IterTimerHook'],
        'after_train_iter': ['RuntimeInfoHook', 'IterTimerHook',
                             'LoggerHook', 'AfterIter',
                             'ParamSchedulerHook']}


def test_recorded_steps_train_as_the_standard_loop(
        standard_vanilla, data_root, tmp_path, monkeypatch):
    # Graph mode on the CPU: StepGraphs emulates recording and replay.
    monkeypatch.setattr(loop_module, 'eager_step_reason', lambda *a: None)
    runner = train(classifier(), device_loader(data_root), str(tmp_path),
                   'CapturedEpochBasedTrainLoop')
    graphs = runner.train_loop.graphs
    assert runner.train_loop.mode == 'graph' and graphs.emulate
    assert_same_training(standard_vanilla, runner)
    # Batches of 8 at lr 0.05: 6 steps, 3 eager, recorded at the 4th and
    # replayed twice; after the milestone (lr 0.005) the old recording is
    # dropped and 2 steps run eagerly. The batch of 4 never reaches 3 eager
    # steps at one lr.
    full_old = [k for k in graphs.eager_steps if k[0][0] == 8]
    assert sorted(graphs.eager_steps[k] for k in full_old) == [2, 3]
    assert graphs.recordings == 1 and graphs.graphs == {}
    last = {k: n for k, n in graphs.eager_steps.items() if k[0][0] == 4}
    assert sorted(last.values()) == [1, 3]


def test_a_failed_recording_continues_eagerly_without_losing_the_batch(
        standard_vanilla, data_root, tmp_path, monkeypatch):
    monkeypatch.setattr(loop_module, 'eager_step_reason', lambda *a: None)

    def refuse(graphs, inputs, labels, key):
        # As CUDA does: no kernel ran, but backward had given every
        # parameter a gradient tensor in the graph's memory.
        for parameter in models[0].parameters():
            parameter.grad = torch.full_like(parameter, 7.0)
        raise RecordingError('operation not permitted when stream is '
                             'capturing')

    models = []
    monkeypatch.setattr(StepGraphs, '_record', refuse)
    monkeypatch.setattr(
        loop_module.CapturedEpochBasedTrainLoop, '_choose_mode',
        lambda self, choose=loop_module.CapturedEpochBasedTrainLoop.
        _choose_mode: (models.append(self.runner.model), choose(self)))
    runner = train(classifier(), device_loader(data_root), str(tmp_path),
                   'CapturedEpochBasedTrainLoop')
    assert runner.train_loop.mode == 'eager'
    assert_same_training(standard_vanilla, runner)


def test_standard_loader_batches_train_as_the_standard_loop(
        data_root, tmp_path):
    expected = train(classifier(), standard_loader(data_root),
                     str(tmp_path / 'a'), epochs=2)
    runner = train(classifier(), standard_loader(data_root),
                   str(tmp_path / 'b'), 'CapturedEpochBasedTrainLoop',
                   epochs=2)
    assert runner.train_loop.mode == 'eager'
    assert_same_training(expected, runner)


def test_worker_processes_make_whole_batches_and_train_the_same(
        data_root, tmp_path, monkeypatch):
    # 16 images per message: groups of 2 batches of 8, the epoch's last of
    # one batch of 4.
    monkeypatch.setattr(grouped_loader_module, 'IMAGES_PER_MESSAGE', 16)
    loader = dict(standard_loader(data_root), num_workers=2,
                  persistent_workers=True)
    expected = train(classifier(), loader, str(tmp_path / 'a'), epochs=2)
    runner = train(classifier(), copy.deepcopy(loader), str(tmp_path / 'b'),
                   'CapturedEpochBasedTrainLoop', epochs=2)
    grouped, = runner.train_loop.worker_loaders()
    assert grouped.batch_sampler.per_group == 2
    assert isinstance(grouped.dataset, BatchedSplit)
    # The Runner's loader kept its collate function and never started its
    # workers.
    assert runner.train_dataloader._iterator is None
    assert not isinstance(runner.train_dataloader.collate_fn, TensorCollate)
    assert_same_training(expected, runner)
    for run in (expected, runner):
        # Else the garbage collector joins them later, 5 s each.
        assert stop_loader_workers(run) == 1
    assert grouped._iterator is None


def test_other_pipelines_collate_tensors_in_the_workers(data_root, tmp_path):
    loader = dict(standard_loader(data_root), num_workers=1,
                  persistent_workers=True)
    # A transform BatchedSplit does not know (here one that changes nothing).
    loader['dataset']['pipeline'].insert(0, dict(type='RandomFlip',
                                                 prob=0.0))
    expected = train(classifier(), loader, str(tmp_path / 'a'), epochs=2)
    runner = train(classifier(), copy.deepcopy(loader), str(tmp_path / 'b'),
                   'CapturedEpochBasedTrainLoop', epochs=2)
    assert runner.train_loop.worker_loaders() == []
    assert isinstance(runner.train_dataloader.collate_fn, TensorCollate)
    assert not isinstance(expected.train_dataloader.collate_fn,
                          TensorCollate)
    assert_same_training(expected, runner)
    for run in (expected, runner):
        stop_loader_workers(run)


def test_workers_already_started_keep_their_collate():
    dataset = [dict(inputs=torch.zeros(3, 2, 2, dtype=torch.uint8),
                    data_samples=DataSample().set_gt_label(1))] * 4
    loader = DataLoader(dataset, batch_size=2, num_workers=1,
                        persistent_workers=True, collate_fn=default_collate)
    collate = loader.collate_fn
    next(iter(loader))  # starts the persistent workers
    assert not collate_tensors_in_workers(loader)
    assert loader.collate_fn is collate
    loader._iterator._shutdown_workers()
    fresh = DataLoader(dataset, batch_size=2, collate_fn=default_collate)
    assert collate_tensors_in_workers(fresh)
    batch = next(iter(fresh))
    assert batch.keys() == {'inputs', 'labels'}
    assert torch.equal(reduce_to_tensors(batch)['labels'],
                       torch.tensor([1, 1]))


def test_distillation_trains_as_the_standard_loop(data_root, tmp_path,
                                                 monkeypatch):
    expected = train(hinton_kd(), device_loader(data_root),
                     str(tmp_path / 'a'), epochs=2)
    monkeypatch.setattr(loop_module, 'eager_step_reason', lambda *a: None)
    runner = train(hinton_kd(), device_loader(data_root),
                   str(tmp_path / 'b'), 'CapturedEpochBasedTrainLoop',
                   epochs=2)
    assert runner.train_loop.mode == 'graph'
    assert runner.train_loop.graphs.recordings == 1
    assert_same_training(expected, runner)
    kd = runner.message_hub.get_scalar('train/loss_kd').current()
    assert kd == expected.message_hub.get_scalar('train/loss_kd').current()


@pytest.mark.parametrize('model', [wrn_classifier, dkd])
def test_label_tensor_steps_train_as_the_standard_loop(model, data_root,
                                                       tmp_path):
    expected = train(model(), device_loader(data_root), str(tmp_path / 'a'),
                     epochs=2)
    runner = train(model(), device_loader(data_root), str(tmp_path / 'b'),
                   'CapturedEpochBasedTrainLoop', epochs=2)
    assert runner.train_loop._label_tensor
    assert_same_training(expected, runner)
    for key in ['train/loss'] + (['train/loss_dkd'] if model is dkd else []):
        assert runner.message_hub.get_scalar(key).current() == \
            expected.message_hub.get_scalar(key).current()


def test_a_label_tensor_needs_a_head_without_cal_acc():
    from mmpretrain.registry import MODELS
    model = wrn_classifier()
    model['head']['cal_acc'] = True
    classifier_ = MODELS.build(model)
    assert not classifier_.takes_label_tensor
    with pytest.raises(ValueError, match='cal_acc needs data samples'):
        classifier_.loss(torch.zeros(2, 3, 32, 32), torch.tensor([0, 1]))


def test_models_that_need_per_image_data_take_the_standard_step():
    plain = nn.Linear(2, 2)
    assert standard_step_reason(plain) is None
    banked = copy.deepcopy(plain)
    banked.teacher_bank = object()
    assert 'teacher bank' in standard_step_reason(banked)

    class ContrastiveRepresentationLoss(nn.Module):
        pass

    crd = nn.Module()
    crd.distiller = nn.Module()
    crd.distiller.distill_losses = nn.ModuleDict(
        dict(loss_crd=ContrastiveRepresentationLoss()))
    assert standard_step_reason(crd).startswith('loss_crd (CRD)')


def test_steps_that_read_the_gpu_are_not_recorded():
    model = nn.Linear(2, 2)
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    cuda = torch.device('cuda')
    assert eager_step_reason(OptimWrapper(sgd), cuda) is None
    assert 'CUDA device' in eager_step_reason(OptimWrapper(sgd),
                                              torch.device('cpu'))
    amp = AmpOptimWrapper.__new__(AmpOptimWrapper)
    assert '--amp bf16' in eager_step_reason(amp, cuda)
    clipped = OptimWrapper(sgd, clip_grad=dict(max_norm=1.0))
    assert 'clipping' in eager_step_reason(clipped, cuda)
    accumulating = OptimWrapper(sgd, accumulative_counts=2)
    assert 'accumulation' in eager_step_reason(accumulating, cuda)
