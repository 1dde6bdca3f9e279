# WRN-40-2 -> WRN-40-1 on CIFAR-100, Decoupled KD (Zhao et al., CVPR 2022):
# TCKD + 6 * NCKD at T=4, ramped up over the first 20 epochs, + CE; the
# benchmark's recipe (batch 64, SGD lr 0.05, 240 epochs:
# _base_/schedules/cifar100_bs64.py). The teacher: see
# _base_/models/kd_wrn40-2_to_wrn16-2_cifar100.py.
_base_ = [
    '../_base_/models/kd_wrn40-2_to_wrn40-1_cifar100.py',
    '../_base_/datasets/cifar100_bs64.py',
    '../_base_/schedules/cifar100_bs64.py',
    '../_base_/kd_runtime.py',
    '../_base_/distillers/dkd.py',
]
model = dict(distiller=_base_.dkd)
# beta 6, not the paper's default 8: mdistiller's CIFAR-100 configs of both
# WRN pairs (configs/cifar100/dkd/wrn40_2_wrn_{16_2,40_1}.yaml) set it.
model['distiller']['distill_losses']['loss_dkd']['beta'] = 6.0
default_hooks = dict(dkd_warmup=_base_.dkd_warmup)
