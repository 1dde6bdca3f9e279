# wrn22-w4_b128x1_cifar10.py with the device-resident data pipeline: the same
# model, schedule and augmentation distribution, batches made on the
# device instead of by DataLoader workers.
_base_ = [
    '../_base_/models/wrn_cifar10.py',
    '../_base_/datasets/cifar10_device_bs128.py',
    '../_base_/schedules/cifar10_bs128.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(depth=22, widen_factor=4))
