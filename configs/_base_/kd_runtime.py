# Shared by the distillation configs: mmrazor's registries by default (the
# data and model parts carry `_scope_='mmpretrain'`), validation of the
# student with the frozen teacher's metrics beside it, and a teacher check
# before the first iteration
# (disable: --cfg-options default_hooks.teacher_eval=None).
_base_ = ['./schedules/cifar10_bs128.py', './default_runtime.py']
default_scope = 'mmrazor'
val_cfg = dict(type='TeacherStudentValLoop')
# teacher_bank: checks and opens model.teacher_bank when one is set.
default_hooks = dict(
    teacher_eval=dict(type='TeacherEvalHook'),
    teacher_bank=dict(type='TeacherBankHook'))
# MMRazor's WRN-40-2 release (94.67 top-1 on CIFAR-10).
wrn40_2_teacher_ckpt = 'https://download.openmmlab.com/mmrazor/v1/wide_resnet/wrn40-w2_b16x8_cifar10/wrn40-w2_b16x8_cifar10_20221201_170318-761c8c55.pth'  # noqa: E501
# MMRazor's WRN-28-4 release (95.41 top-1), the teacher of its OFD result.
wrn28_4_teacher_ckpt = 'https://download.openmmlab.com/mmrazor/v1/wide_resnet/wrn28_4_b16x8_cifar10_20220831_173536-d6f8725c.pth'  # noqa: E501
