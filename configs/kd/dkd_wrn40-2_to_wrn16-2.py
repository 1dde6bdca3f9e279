# Decoupled KD (Zhao et al., CVPR 2022), WRN-40-2 -> WRN-16-2 on CIFAR-10:
# TCKD + 8 * NCKD at T=4 (_base_/distillers/dkd.py) + CE (weight 1), ramped
# up linearly over the first 20 epochs, as in the paper.
_base_ = [
    '../_base_/models/kd_wrn40-2_to_wrn16-2.py',
    '../_base_/datasets/cifar10_bs16.py',
    '../_base_/schedules/cifar10_bs128.py',
    '../_base_/kd_runtime.py',
    '../_base_/distillers/dkd.py',
]
model = dict(distiller=_base_.dkd)
default_hooks = dict(dkd_warmup=_base_.dkd_warmup)
