# FitNets (Romero et al., ICLR 2015), WRN-40-2 -> WRN-16-2 on CIFAR-10: MSE
# (weight 100) between the stage-1 outputs through a 1x1 conv + BN connector
# (_base_/distillers/fitnets.py) + CE (weight 1). The connector is MMRazor's
# (no activation); the CIFAR-100 configs use upstream's conv + BN + ReLU.
_base_ = [
    '../_base_/models/kd_wrn40-2_to_wrn16-2.py',
    '../_base_/datasets/cifar10_bs16.py',
    '../_base_/schedules/cifar10_bs128.py',
    '../_base_/kd_runtime.py',
    '../_base_/distillers/fitnets.py',
]
model = dict(distiller=_base_.fitnets)
