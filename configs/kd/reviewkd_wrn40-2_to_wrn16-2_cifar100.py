# WRN-40-2 -> WRN-16-2 on CIFAR-100, ReviewKD (Chen et al., CVPR 2021):
# attention-based fusion of the student's stage features and the
# hierarchical context loss (weight 5, ramped up over 20 epochs) + CE; the
# benchmark's recipe (batch 64, SGD lr 0.05, 240 epochs:
# _base_/schedules/cifar100_bs64.py). The teacher: see
# _base_/models/kd_wrn40-2_to_wrn16-2_cifar100.py.
_base_ = [
    '../_base_/models/kd_wrn40-2_to_wrn16-2_cifar100.py',
    '../_base_/datasets/cifar100_bs64.py',
    '../_base_/schedules/cifar100_bs64.py',
    '../_base_/kd_runtime.py',
    '../_base_/distillers/reviewkd.py',
]
model = dict(distiller=_base_.reviewkd)
default_hooks = dict(reviewkd_warmup=_base_.reviewkd_warmup)
