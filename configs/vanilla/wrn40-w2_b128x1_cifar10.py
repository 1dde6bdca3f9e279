# WRN-40-2 on one device: 128 images per step (same total batch as 8 x 16;
# BN statistics are computed over 128 images instead of 16, see README).
_base_ = [
    '../_base_/models/wrn_cifar10.py',
    '../_base_/datasets/cifar10_bs128.py',
    '../_base_/schedules/cifar10_bs128.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(depth=40, widen_factor=2))
