# ofd_wrn28-4_to_wrn16-2.py (OFD, the reference recipe: 8 BatchNorm groups of
# 16 per step of 128) with the device-resident data pipeline
# (configs/_base_/datasets/cifar10_device_bs16.py).
_base_ = [
    '../_base_/models/kd_wrn40-2_to_wrn16-2.py',
    '../_base_/datasets/cifar10_device_bs16.py',
    '../_base_/schedules/cifar10_bs128.py',
    '../_base_/kd_runtime.py',
    '../_base_/distillers/ofd.py',
]
model = dict(
    teacher=dict(backbone=dict(depth=28, widen_factor=4)),
    teacher_ckpt=_base_.wrn28_4_ckpt,
    distiller=_base_.ofd)
