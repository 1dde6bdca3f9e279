# The distillation pair: a frozen WRN-40-2 teacher (MMRazor's release) and a
# WRN-16-2 student, both classifiers of wrn_cifar10.py; the student's CE has
# weight 1. Each method in configs/kd/ adds its distiller's recorders,
# connectors and losses. Change the pair by depth and width alone, e.g.
# --cfg-options model.architecture.backbone.depth=40
#               model.architecture.backbone.widen_factor=1
# (connector channels follow the models).
_base_ = ['./wrn_cifar10.py']
# MMRazor's released CIFAR-10 classifiers of the teacher models (CIFAR-10
# only: the _cifar100 configs have none).
wrn40_2_ckpt = 'https://download.openmmlab.com/mmrazor/v1/wide_resnet/wrn40-w2_b16x8_cifar10/wrn40-w2_b16x8_cifar10_20221201_170318-761c8c55.pth'  # noqa: E501  # 94.67 top-1
wrn28_4_ckpt = 'https://download.openmmlab.com/mmrazor/v1/wide_resnet/wrn28_4_b16x8_cifar10_20220831_173536-d6f8725c.pth'  # noqa: E501  # 95.41 top-1

model = dict(
    _delete_=True,
    type='FrozenTeacherDistill',
    architecture=_base_.model,
    teacher=dict(
        _base_.model,
        backbone=dict(type='WideResNet', depth=40, widen_factor=2)),
    teacher_ckpt=wrn40_2_ckpt,
    # dict(path=BANK, mode='read'|'fill'): the teacher's logits from a
    # teacher-output bank (tools/build_teacher_bank.py), logit methods only.
    teacher_bank=None,
    distiller=dict(type='ConfigurableDistiller'))
