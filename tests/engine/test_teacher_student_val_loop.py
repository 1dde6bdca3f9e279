"""TeacherStudentValLoop: mmengine's ValLoop over the student, plus the
teacher's metrics computed once per run."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import Evaluator
from mmengine.runner import ValLoop
from mmengine.structures import BaseDataElement
from mmpretrain.structures import DataSample
from mmrazor.registry import MODELS
from torch.utils.data import DataLoader

import razor_wrn  # noqa: F401
from razor_wrn.engine.loops import TeacherStudentValLoop


def _classifier(widen_factor: int) -> dict:
    return dict(_scope_='mmpretrain', type='WRNClassifier',
                data_preprocessor=dict(type='ClsDataPreprocessor',
                                       num_classes=10),
                backbone=dict(type='WideResNet', depth=10,
                              widen_factor=widen_factor),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=10, topk=(1, )))


class _Images(list):
    metainfo = dict(classes=tuple(str(i) for i in range(10)))


@pytest.fixture
def parts():
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='FrozenTeacherDistill', architecture=_classifier(1),
        teacher=_classifier(2), distiller=dict(type='ConfigurableDistiller')))
    generator = torch.Generator().manual_seed(0)
    images = _Images(
        dict(inputs=torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8,
                                  generator=generator),
             data_samples=DataSample().set_gt_label(i % 10))
        for i in range(12))
    loader = DataLoader(images, batch_size=4, collate_fn=pseudo_collate)
    # Constant predictions, so the two models' top-1 differ: the teacher
    # always says class 0 (2 of 12 images), the student class 5 (1 of 12).
    for classifier, label in ((model.teacher, 0), (model.student, 5)):
        classifier.head.fc.weight.data.zero_()
        classifier.head.fc.bias.data = torch.eye(10)[label]
    calls = []
    runner = SimpleNamespace(model=model, visualizer=SimpleNamespace(),
                             call_hook=lambda name, **kw: calls.append(name))
    return runner, loader, calls


def _evaluator():
    return Evaluator(dict(_scope_='mmpretrain', type='Accuracy', topk=(1, )))


def _top1(classifier, loader) -> float:
    evaluator = _evaluator()
    classifier.eval()
    with torch.no_grad():
        for batch in loader:
            data = classifier.data_preprocessor(batch, False)
            evaluator.process(classifier(**data, mode='predict'), batch)
    return evaluator.evaluate(len(loader.dataset))['accuracy/top1']


def test_student_metrics_as_val_loop_teacher_once_under_its_prefix(parts):
    runner, loader, calls = parts
    teacher_batches = []
    runner.model.teacher.register_forward_hook(
        lambda *args: teacher_batches.append(1))
    loop = TeacherStudentValLoop(runner, loader, _evaluator())
    first, second = loop.run(), loop.run()
    plain = ValLoop(runner, loader, _evaluator()).run()

    assert len(teacher_batches) == len(loader)  # 3 batches, one pass in all
    assert first == second
    assert sorted(first) == ['accuracy/top1', 'teacher/accuracy/top1']
    assert first['accuracy/top1'] == plain['accuracy/top1'] == _top1(
        runner.model.student, loader)
    assert first['teacher/accuracy/top1'] == _top1(runner.model.teacher,
                                                   loader)
    assert first['accuracy/top1'] == pytest.approx(100 / 12)
    assert first['teacher/accuracy/top1'] == pytest.approx(200 / 12)
    assert calls[:4] == ['before_val', 'before_val_epoch', 'before_val_iter',
                         'after_val_iter']


def test_validation_losses_are_kept(parts):
    """mmengine's ValLoop reports losses a model returns from val_step."""
    runner, loader, _ = parts
    val_step = runner.model.val_step
    runner.model.val_step = lambda batch: [
        *val_step(batch), BaseDataElement(loss=dict(loss_x=torch.tensor(1.5)))]
    metrics = TeacherStudentValLoop(runner, loader, _evaluator()).run()
    assert metrics['loss_x'] == metrics['val_loss'] == 1.5
    assert 'teacher/accuracy/top1' in metrics


def test_a_model_without_teacher_is_refused(parts):
    runner, loader, _ = parts
    runner.model = runner.model.student
    loop = TeacherStudentValLoop(runner, loader, _evaluator())
    with pytest.raises(TypeError, match='needs a distillation model'):
        loop.run()
