# WRN-40-2 -> WRN-16-2 on CIFAR-100, FitNets (Romero et al., ICLR 2015): MSE
# (weight 100) of the stage-1 outputs through a 1x1 conv + BN + ReLU
# connector (RepDistiller's and mdistiller's ConvReg) + CE;
# the benchmark's recipe (batch 64, SGD lr 0.05, 240 epochs:
# _base_/schedules/cifar100_bs64.py). The teacher: see
# _base_/models/kd_wrn40-2_to_wrn16-2_cifar100.py.
_base_ = [
    '../_base_/models/kd_wrn40-2_to_wrn16-2_cifar100.py',
    '../_base_/datasets/cifar100_bs64.py',
    '../_base_/schedules/cifar100_bs64.py',
    '../_base_/kd_runtime.py',
    '../_base_/distillers/fitnets.py',
]
model = dict(distiller=_base_.fitnets_convreg)
