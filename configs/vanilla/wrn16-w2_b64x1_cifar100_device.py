# wrn16-w2_b64x1_cifar100.py with the device-resident data pipeline: the
# same model, schedule and augmentation distribution, batches made on the
# device instead of by DataLoader workers.
_base_ = [
    '../_base_/models/wrn_cifar100.py',
    '../_base_/datasets/cifar100_device_bs64.py',
    '../_base_/schedules/cifar100_bs64.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(depth=16, widen_factor=2))
