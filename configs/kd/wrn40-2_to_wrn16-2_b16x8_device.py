# wrn40-2_to_wrn16-2.py (Hinton KD, the reference recipe: 8 BatchNorm groups
# of 16 per step of 128) with the device-resident data pipeline
# (configs/_base_/datasets/cifar10_device_bs16.py).
_base_ = [
    '../_base_/models/kd_wrn40-2_to_wrn16-2.py',
    '../_base_/datasets/cifar10_device_bs16.py',
    '../_base_/schedules/cifar10_bs128.py',
    '../_base_/kd_runtime.py',
    '../_base_/distillers/hinton_kd.py',
]
model = dict(
    architecture=dict(head=dict(loss=dict(loss_weight=0.1))),
    distiller=_base_.hinton_kd)
