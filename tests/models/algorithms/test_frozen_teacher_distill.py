import pytest
import torch
from mmengine.optim import OptimWrapper
from mmpretrain.structures import DataSample
from mmrazor.registry import MODELS

import razor_wrn  # noqa: F401
from razor_wrn.checkpoint import CheckpointError, fit_load_from


def _classifier(depth: int, widen_factor: int) -> dict:
    return dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        data_preprocessor=dict(type='ClsDataPreprocessor', num_classes=10),
        backbone=dict(type='WideResNet', depth=depth,
                      widen_factor=widen_factor, droprate=0.3),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10,
                  in_channels=64 * widen_factor))


def _algorithm(hint_in_channels: int = 32, **kwargs):
    """WRN-10-2 teacher -> WRN-10-1 student, Hinton KD + a FitNets hint."""
    cfg = dict(
        type='FrozenTeacherDistill',
        architecture=_classifier(10, 1),
        teacher=_classifier(10, 2),
        distiller=dict(
            type='ConfigurableDistiller',
            student_recorders=dict(
                logits=dict(type='ModuleOutputs', source='head.fc'),
                stage2=dict(type='ModuleOutputs', source='backbone.layer2')),
            teacher_recorders=dict(
                logits=dict(type='ModuleOutputs', source='head.fc'),
                stage2=dict(type='ModuleOutputs', source='backbone.layer2')),
            connectors=dict(hint=dict(
                type='ConvModuleConnector', in_channel=hint_in_channels,
                out_channel=64, norm_cfg=dict(type='BN'), act_cfg=None)),
            distill_losses=dict(
                loss_kd=dict(type='HintonKDLoss'),
                loss_hint=dict(type='FeatureMSELoss')),
            loss_forward_mappings=dict(
                loss_kd=dict(
                    preds_S=dict(from_student=True, recorder='logits'),
                    preds_T=dict(from_student=False, recorder='logits')),
                loss_hint=dict(
                    s_feature=dict(from_student=True, recorder='stage2',
                                   connector='hint'),
                    t_feature=dict(from_student=False, recorder='stage2')))))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _batch(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(2, 3, 32, 32, generator=generator)
    samples = [DataSample().set_gt_label(i) for i in (3, 7)]
    return inputs, samples


def test_loss_keys_are_summed_terms():
    algorithm = _algorithm().train()
    losses = algorithm.loss(*_batch())
    assert set(losses) == {'loss_student', 'loss_kd', 'loss_hint'}
    assert all(v.dim() == 0 and torch.isfinite(v) for v in losses.values())


def test_gradients_reach_student_and_connectors_never_teacher():
    algorithm = _algorithm().train()
    sum(algorithm.loss(*_batch()).values()).backward()
    for name, param in algorithm.architecture.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    for name, param in algorithm.distiller.connectors.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    for name, param in algorithm.teacher.named_parameters():
        assert not param.requires_grad and param.grad is None, name


def test_teacher_is_bit_identical_after_training_steps():
    algorithm = _algorithm().train()
    before = {k: v.clone() for k, v in algorithm.teacher.state_dict().items()}
    student_before = algorithm.architecture.backbone.conv1.weight.clone()
    optim = OptimWrapper(torch.optim.SGD(
        algorithm.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4))
    for step in range(3):
        optim.update_params(sum(algorithm.loss(*_batch(step)).values()))
    for key, value in algorithm.teacher.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert not torch.equal(algorithm.architecture.backbone.conv1.weight,
                           student_before)


def test_teacher_stays_in_eval_mode_and_runs_first_without_autograd():
    algorithm = _algorithm().train()
    assert algorithm.architecture.training
    assert not any(m.training for m in algorithm.teacher.modules())
    calls = []
    for role, model in (('teacher', algorithm.teacher),
                        ('student', algorithm.architecture)):
        model.backbone.register_forward_hook(
            lambda module, args, out, role=role: calls.append(
                (role, torch.is_grad_enabled())))
    algorithm.loss(*_batch())
    assert calls == [('teacher', False), ('student', True)]


def test_teacher_checkpoint_is_loaded_strictly_and_survives_init(tmp_path):
    source = _algorithm().teacher
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in source.parameters():
            p.copy_(torch.randn(p.shape, generator=generator))
    # A tools/train.py checkpoint, and a bare state dict.
    full = tmp_path / 'teacher.pth'
    torch.save({'meta': {'epoch': 3}, 'state_dict': source.state_dict()},
               full)
    bare = tmp_path / 'bare.pth'
    torch.save(source.state_dict(), bare)
    for checkpoint in (full, bare):
        algorithm = _algorithm(teacher_ckpt=str(checkpoint))
        algorithm.init_weights()
        for key, value in source.state_dict().items():
            assert torch.equal(algorithm.teacher.state_dict()[key], value)


def test_teacher_checkpoint_of_another_width_is_refused(tmp_path):
    wrong = tmp_path / 'wrn10-1.pth'
    torch.save({'state_dict': _algorithm().architecture.state_dict()}, wrong)
    with pytest.raises(CheckpointError) as error:
        _algorithm(teacher_ckpt=str(wrong))
    message = str(error.value)
    assert 'shape mismatches' in message
    assert ("the checkpoint's network is a WRN-10-1, the config builds a "
            'WRN-10-2: pass --cfg-options model.teacher.backbone.depth=10 '
            'model.teacher.backbone.widen_factor=1.') in message


def test_connector_channel_mismatch_fails_at_build():
    with pytest.raises(ValueError, match='connector'):
        _algorithm(hint_in_channels=48)


def test_loss_names_must_start_with_loss():
    distiller = dict(
        type='ConfigurableDistiller',
        student_recorders=dict(
            logits=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(
            logits=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=dict(kd=dict(type='HintonKDLoss')),
        loss_forward_mappings=dict(kd=dict(
            preds_S=dict(from_student=True, recorder='logits'),
            preds_T=dict(from_student=False, recorder='logits'))))
    with pytest.raises(ValueError, match='must start with "loss_"'):
        _algorithm(distiller=distiller)


def _hook_count(module: torch.nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks)
               for m in module.modules())


def test_recorder_hooks_are_registered_once_not_per_step():
    algorithm = _algorithm().train()
    registered = _hook_count(algorithm)
    # Two recorders on each network (head.fc and backbone.layer2).
    assert registered >= 4
    for step in range(3):
        algorithm.loss(*_batch(step))
    assert _hook_count(algorithm) == registered


def _randomised(module: torch.nn.Module, seed: int) -> dict:
    """``module``'s state dict with every parameter drawn from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    return {k: torch.randn(v.shape, generator=generator)
            if v.is_floating_point() else v.clone()
            for k, v in module.state_dict().items()}


def test_load_from_a_classifier_loads_the_student_strictly():
    # mmengine's strict=False load matched none of the student's keys
    # (they are `architecture.*` in the algorithm) and went on.
    from mmengine.runner.checkpoint import _load_checkpoint_to_model
    algorithm = _algorithm()
    before = {k: v.clone() for k, v in algorithm.state_dict().items()}
    student = _randomised(algorithm.architecture, seed=5)
    checkpoint = {'meta': {}, 'state_dict': dict(student)}

    assert fit_load_from(algorithm, checkpoint, 'wrn10-1.pth') is True
    _load_checkpoint_to_model(algorithm, checkpoint, strict=True)
    for key, value in algorithm.state_dict().items():
        expected = student[key[len('architecture.'):]] if key.startswith(
            'architecture.') else before[key]
        assert torch.equal(value, expected), key

    # A checkpoint of the whole algorithm is loaded as it is.
    whole = {'state_dict': _randomised(algorithm, seed=6)}
    assert fit_load_from(algorithm, whole, 'kd.pth') is False


def test_load_from_that_fits_neither_the_model_nor_its_student():
    algorithm = _algorithm()
    teacher = {'state_dict': algorithm.teacher.state_dict()}
    with pytest.raises(CheckpointError) as error:
        fit_load_from(algorithm, teacher, 'wrn10-2.pth')
    message = str(error.value)
    assert message.startswith("Checkpoint 'wrn10-2.pth' (load_from, as the "
                              'student) does not fit the model:')
    assert 'the checkpoint holds a WRN-10-2, the config builds a WRN-10-1' \
        in message
    # A distillation checkpoint missing a part is refused as a whole.
    partial = {'state_dict': {k: v for k, v in algorithm.state_dict().items()
                              if not k.startswith('distiller.')}}
    with pytest.raises(CheckpointError, match=r"\(load_from\) does not fit"):
        fit_load_from(algorithm, partial, 'kd.pth')
