# Attention transfer (Zagoruyko & Komodakis, ICLR 2017), WRN-40-2 ->
# WRN-16-2 on CIFAR-10: attention maps of the three stage outputs, beta =
# 1000 per stage (_base_/distillers/at.py) + CE (weight 1).
_base_ = [
    '../_base_/models/kd_wrn40-2_to_wrn16-2.py',
    '../_base_/datasets/cifar10_bs16.py',
    '../_base_/schedules/cifar10_bs128.py',
    '../_base_/kd_runtime.py',
    '../_base_/distillers/at.py',
]
model = dict(distiller=_base_.at)
