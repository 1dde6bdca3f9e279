# WRN-10-1 (78 K parameters) on one device, 128 images per step: a student
# small enough to train and distil on a CPU (kd/wrn16-2_to_wrn10-1.py). No
# published number exists for it.
_base_ = ['./wrn16-w2_b128x1_cifar10.py']
model = dict(backbone=dict(depth=10, widen_factor=1))
