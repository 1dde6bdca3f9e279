# WRN-22-4, the reference recipe (wrn22-w4_b16x8_cifar10.py) with the
# device-resident data pipeline: the same model, schedule, augmentation
# distribution and 8 BatchNorm groups of 16 per step of 128, batches made on
# the device instead of by DataLoader workers.
_base_ = [
    '../_base_/models/wrn_cifar10.py',
    '../_base_/datasets/cifar10_device_bs16.py',
    '../_base_/schedules/cifar10_bs128.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(depth=22, widen_factor=4))
