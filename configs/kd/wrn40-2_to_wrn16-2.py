# Hinton KD (Hinton et al. 2015), WRN-40-2 -> WRN-16-2 on CIFAR-10:
# 0.9 * T^2 KL(teacher || student) at T=4 + 0.1 * CE, the weights of
# mdistiller's and RepDistiller's CIFAR KD recipe; otherwise the vanilla
# reference recipe (8 GPUs x 16, 200 epochs).
_base_ = [
    '../_base_/models/wrn_cifar10.py',
    '../_base_/datasets/cifar10_bs16.py',
    '../_base_/kd_runtime.py',
]
student = dict(  # WRN-16-2
    _base_.model,
    head=dict(
        _base_.model.head,
        loss=dict(type='CrossEntropyLoss', loss_weight=0.1)))
teacher = dict(
    _base_.model,
    backbone=dict(type='WideResNet', depth=40, widen_factor=2),
    head=dict(_base_.model.head, in_channels=128))

model = dict(
    _delete_=True,
    type='FrozenTeacherDistill',
    architecture=student,
    teacher=teacher,
    teacher_ckpt=_base_.wrn40_2_teacher_ckpt,
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(
            logits=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(
            logits=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=dict(
            loss_kd=dict(type='HintonKDLoss', temperature=4.0,
                         loss_weight=0.9)),
        loss_forward_mappings=dict(
            loss_kd=dict(
                preds_S=dict(from_student=True, recorder='logits'),
                preds_T=dict(from_student=False, recorder='logits')))))
