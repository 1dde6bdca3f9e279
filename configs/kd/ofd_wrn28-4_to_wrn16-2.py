# Overhaul of feature distillation (Heo et al., ICCV 2019), WRN-28-4 ->
# WRN-16-2 on CIFAR-10, as MMRazor's OFD config (its only WRN distillation
# result, 94.21 top-1): partial L2 between the pre-ReLU BN outputs of the
# three stages (_base_/distillers/ofd.py) + CE (weight 1); the teacher's BN
# uses its running statistics, as MMRazor's (the CIFAR-100 configs use the
# batch's, as overhaul-distillation and mdistiller).
_base_ = [
    '../_base_/models/kd_wrn40-2_to_wrn16-2.py',
    '../_base_/datasets/cifar10_bs16.py',
    '../_base_/schedules/cifar10_bs128.py',
    '../_base_/kd_runtime.py',
    '../_base_/distillers/ofd.py',
]
model = dict(
    teacher=dict(backbone=dict(depth=28, widen_factor=4)),
    teacher_ckpt=_base_.wrn28_4_ckpt,
    distiller=_base_.ofd)
