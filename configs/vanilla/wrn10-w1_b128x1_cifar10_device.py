# wrn10-w1_b128x1_cifar10.py with the device-resident data pipeline.
_base_ = ['./wrn16-w2_b128x1_cifar10_device.py']
model = dict(backbone=dict(depth=10, widen_factor=1))
