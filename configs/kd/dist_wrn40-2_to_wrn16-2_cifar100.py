# WRN-40-2 -> WRN-16-2 on CIFAR-100, DIST (Huang et al., NeurIPS 2022): the
# inter- and intra-class Pearson correlation of the softened predictions + CE;
# the benchmark's recipe (batch 64, SGD lr 0.05, 240 epochs:
# _base_/schedules/cifar100_bs64.py). The teacher: see
# _base_/models/kd_wrn40-2_to_wrn16-2_cifar100.py.
_base_ = [
    '../_base_/models/kd_wrn40-2_to_wrn16-2_cifar100.py',
    '../_base_/datasets/cifar100_bs64.py',
    '../_base_/schedules/cifar100_bs64.py',
    '../_base_/kd_runtime.py',
    '../_base_/distillers/dist.py',
]
# The student's classifier starts from nn.Linear's init, as every CIFAR-100
# classifier here (_base_/models/wrn_cifar100.py).
model = dict(distiller=_base_.dist)
