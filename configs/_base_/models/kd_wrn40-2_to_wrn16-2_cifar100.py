# The distillation pair on CIFAR-100: a frozen WRN-40-2 teacher and a
# WRN-16-2 student, both classifiers of wrn_cifar100.py (100 classes,
# CIFAR-100's normalisation); the student's CE has weight 1. Each method in
# configs/kd/*_cifar100.py adds its distiller. The pair changes by depth and
# width alone, as in kd_wrn40-2_to_wrn16-2.py.
_base_ = ['./wrn_cifar100.py']
model = dict(
    _delete_=True,
    type='FrozenTeacherDistill',
    architecture=_base_.model,
    teacher=dict(
        _base_.model,
        backbone=dict(type='WideResNet', depth=40, widen_factor=2)),
    # The last checkpoint of configs/vanilla/wrn40-w2_b64x1_cifar100.py
    # trained by tools/train.py in its default work dir. A teacher of
    # RepDistiller's or mdistiller's CIFAR-100 zoo works once converted by
    # tools/model_converters/convert_cifar_zoo_wrn.py; pass it with
    # --cfg-options model.teacher_ckpt=PATH.
    teacher_ckpt='work_dirs/wrn40-w2_b64x1_cifar100/epoch_240.pth',
    # dict(path=BANK, mode='read'|'fill'): the teacher's logits from a
    # teacher-output bank (tools/build_teacher_bank.py), logit methods only.
    teacher_bank=None,
    distiller=dict(type='ConfigurableDistiller'))
