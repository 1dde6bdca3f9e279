# WRN-40-2 -> WRN-40-1 on CIFAR-100, Hinton KD (Hinton et al. 2015): 0.9 * T^2
# KL(teacher || student) at T=4 + 0.1 * CE; the benchmark's recipe (batch 64,
# SGD lr 0.05, 240 epochs: _base_/schedules/cifar100_bs64.py). The teacher: see
# _base_/models/kd_wrn40-2_to_wrn16-2_cifar100.py.
_base_ = [
    '../_base_/models/kd_wrn40-2_to_wrn40-1_cifar100.py',
    '../_base_/datasets/cifar100_bs64.py',
    '../_base_/schedules/cifar100_bs64.py',
    '../_base_/kd_runtime.py',
    '../_base_/distillers/hinton_kd.py',
]
model = dict(
    architecture=dict(head=dict(loss=dict(loss_weight=0.1))),
    distiller=_base_.hinton_kd)
