# wrn40-2_to_wrn16-2.py with the device-resident data pipeline
# (configs/_base_/datasets/cifar10_device_bs128.py): the same distillation,
# schedule and augmentation distribution, 128 images per step on one device.
_base_ = ['./wrn40-2_to_wrn16-2.py']

runner_type = 'DeviceDataRunner'
train_dataloader = dict(
    _delete_=True,
    type='DeviceCIFAR10Loader',
    data_root=_base_.data_root,
    split='train',
    batch_size=128,
    augment=True,
    shuffle=True)
# Evaluation: the test split in file order, unaugmented.
val_dataloader = dict(
    train_dataloader, split='test', augment=False, shuffle=False)
test_dataloader = val_dataloader
