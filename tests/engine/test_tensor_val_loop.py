"""``TensorValLoop`` (and the distillation's ``TeacherStudentValLoop``) on a
device loader, or on a standard loader's whole batches, give exactly
mmengine's ``ValLoop`` metrics, score thresholds included, with the hooks
around every batch; other pipelines and metrics run mmengine's loop."""
from typing import Dict

import pytest
import torch

import razor_wrn  # noqa: F401  (compat shim before any mmrazor import)
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import RUNNERS
from mmengine.runner import ValLoop

from razor_wrn.datasets.batched_split import BatchedSplit
from razor_wrn.engine.loader_workers import stop_loader_workers
from razor_wrn.engine.loops import TeacherStudentValLoop, TensorValLoop
import tiny_runs

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning')

# Thresholds make the scores themselves matter, not only their order.
EVALUATOR = dict(type='Accuracy', topk=(1, 5), thrs=(0.0, 0.12))


def classifier() -> Dict:
    return tiny_runs.classifier('WRNClassifier')


def distillation() -> Dict:
    return tiny_runs.hinton_kd(classifier())


def device_loader(data_root: str) -> Dict:
    return tiny_runs.device_loader(data_root, train=False)


def standard_loader(data_root: str) -> Dict:
    return tiny_runs.standard_loader(data_root, train=False)


class IterCounter(Hook):
    def __init__(self) -> None:
        self.iters = 0

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None) -> None:
        self.iters += 1


def trained_runner(model: Dict, data_root: str, work_dir: str):
    """One epoch on 20 images, so the scores are not uniform."""
    runner = RUNNERS.build(Config(dict(
        runner_type='DeviceDataRunner', default_scope='mmpretrain',
        model=model, work_dir=work_dir,
        train_dataloader=dict(device_loader(data_root), split='train',
                              augment=True, shuffle=True),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        # The hooks read the runner's val loader (for their ETA).
        val_dataloader=device_loader(data_root), val_evaluator=EVALUATOR,
        val_cfg=dict(type='TensorValLoop'),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05,
                                          momentum=0.9)),
        default_hooks=dict(checkpoint=None), randomness=dict(seed=5),
        log_level='WARNING')))
    runner.train()
    return runner


@pytest.fixture(scope='module')
def data_root(make_tiny_cifar10) -> str:
    return make_tiny_cifar10(per_class_train=2, per_class_test=2,
                             signal=True)


@pytest.mark.parametrize('model,loop_class', [
    (classifier, TensorValLoop), (distillation, TeacherStudentValLoop)])
def test_device_batches_give_mmengines_metrics(model, loop_class, data_root,
                                              tmp_path):
    runner = trained_runner(model(), data_root, str(tmp_path))
    counter = IterCounter()
    runner.register_hook(counter)
    tensor_loop = loop_class(runner, device_loader(data_root), EVALUATOR)
    assert tensor_loop.runs_on_tensors()
    metrics = tensor_loop.run()
    assert counter.iters == 3  # 20 images in batches of 8, 8, 4
    expected = ValLoop(runner, device_loader(data_root), EVALUATOR).run()
    if loop_class is TeacherStudentValLoop:
        teacher = {k: v for k, v in metrics.items() if k.startswith('teacher')}
        assert set(teacher) == {f'teacher/{k}' for k in expected}
        metrics = {k: v for k, v in metrics.items() if k not in teacher}
    assert len(expected) == 4 and metrics == expected
    # Not a degenerate comparison: the thresholds split the images.
    assert len(set(expected.values())) > 1


@pytest.mark.parametrize('loader', [device_loader, standard_loader])
def test_the_teachers_metrics_on_tensor_batches_are_the_per_image_ones(
        loader, data_root, tmp_path, monkeypatch):
    runner = trained_runner(distillation(), data_root, str(tmp_path))
    # A teacher whose scores are neither uniform (trained weights) nor the
    # student's (perturbed).
    runner.model.teacher.load_state_dict(
        runner.model.student.state_dict())
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for weight in runner.model.teacher.parameters():
            weight.add_(torch.randn(weight.shape, generator=generator) / 20)
    tensor_loop = TeacherStudentValLoop(runner, loader(data_root), EVALUATOR)
    assert tensor_loop.runs_on_tensors()
    metrics = tensor_loop.evaluate_teacher()
    student = {k: v for k, v in tensor_loop.run().items()
               if not k.startswith('teacher/')}
    assert student != metrics
    per_image = TeacherStudentValLoop(runner, loader(data_root), EVALUATOR)
    monkeypatch.setattr(per_image, 'runs_on_tensors', lambda: False)
    expected = per_image.evaluate_teacher()
    assert len(expected) == 4 and metrics == expected
    assert len(set(expected.values())) > 1
    runner._val_loop = tensor_loop
    stop_loader_workers(runner)


def test_a_standard_loaders_whole_batches_give_mmengines_metrics(
        data_root, tmp_path):
    runner = trained_runner(classifier(), data_root, str(tmp_path))
    counter = IterCounter()
    runner.register_hook(counter)
    loader = dict(standard_loader(data_root), num_workers=1,
                  persistent_workers=True)
    loop = TensorValLoop(runner, loader, EVALUATOR)
    assert loop.runs_on_tensors()
    metrics = loop.run()
    assert counter.iters == 3
    grouped, = loop.worker_loaders()
    assert isinstance(grouped.dataset, BatchedSplit)
    assert loop.dataloader._iterator is None  # its workers never started
    expected = ValLoop(runner, standard_loader(data_root), EVALUATOR).run()
    assert len(expected) == 4 and metrics == expected
    assert len(set(expected.values())) > 1
    runner._val_loop = loop
    assert stop_loader_workers(runner) == 1 and grouped._iterator is None


def test_other_pipelines_and_metrics_run_mmengines_loop(data_root,
                                                        tmp_path):
    runner = trained_runner(classifier(), data_root, str(tmp_path))
    loader = standard_loader(data_root)
    # A transform whole batches do not make (here one that changes nothing).
    loader['dataset']['pipeline'].insert(0, dict(type='RandomFlip',
                                                 prob=0.0))
    loop = TensorValLoop(runner, loader, EVALUATOR)
    assert not loop.runs_on_tensors()
    assert loop.run() == ValLoop(runner, device_loader(data_root),
                                 EVALUATOR).run()
    loop = TensorValLoop(runner, device_loader(data_root),
                         [EVALUATOR, dict(type='SingleLabelMetric')])
    assert not loop.runs_on_tensors()
