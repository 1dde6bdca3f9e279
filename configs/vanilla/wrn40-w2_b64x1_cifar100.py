# WRN-40-2 on CIFAR-100, the distillation benchmark's recipe: 64 images per
# step on one device, 240 epochs.
_base_ = [
    '../_base_/models/wrn_cifar100.py',
    '../_base_/datasets/cifar100_bs64.py',
    '../_base_/schedules/cifar100_bs64.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(depth=40, widen_factor=2))
