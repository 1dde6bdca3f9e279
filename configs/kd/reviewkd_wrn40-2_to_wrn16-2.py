# ReviewKD (Chen et al., CVPR 2021), WRN-40-2 -> WRN-16-2 on CIFAR-10: the
# student's fused stage features (attention-based fusion) against the
# teacher's by the hierarchical context loss, weight 5 ramped up over 20
# epochs (_base_/distillers/reviewkd.py), + CE (weight 1). MMRazor has no
# ReviewKD: this is the authors' definition on MMRazor's CIFAR-10 pair.
_base_ = [
    '../_base_/models/kd_wrn40-2_to_wrn16-2.py',
    '../_base_/datasets/cifar10_bs16.py',
    '../_base_/schedules/cifar10_bs128.py',
    '../_base_/kd_runtime.py',
    '../_base_/distillers/reviewkd.py',
]
model = dict(distiller=_base_.reviewkd)
default_hooks = dict(reviewkd_warmup=_base_.reviewkd_warmup)
