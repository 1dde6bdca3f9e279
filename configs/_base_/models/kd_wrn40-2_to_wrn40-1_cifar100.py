# kd_wrn40-2_to_wrn16-2_cifar100.py with a WRN-40-1 student (the
# benchmark's second pair: same depth, half the width).
_base_ = ['./kd_wrn40-2_to_wrn16-2_cifar100.py']
model = dict(architecture=dict(backbone=dict(depth=40, widen_factor=1)))
