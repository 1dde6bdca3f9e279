# WRN-22-4, the reference recipe: 8 GPUs x 16 images, 200 epochs.
_base_ = [
    '../_base_/models/wrn_cifar10.py',
    '../_base_/datasets/cifar10_bs16.py',
    '../_base_/schedules/cifar10_bs128.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(depth=22, widen_factor=4))
