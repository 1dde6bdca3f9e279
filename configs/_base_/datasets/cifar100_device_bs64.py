# CIFAR-100 held on the training device, as cifar10_device_bs128.py does
# for CIFAR-10: each batch shuffled, cropped (zero padding 4) and flipped
# there, with the distribution of cifar100_bs64.py's pipeline. The data must
# already be on disk (get it once with a standard config's download=True).
_base_ = ['./cifar100_bs64.py']

runner_type = 'DeviceDataRunner'
train_dataloader = dict(
    _delete_=True,
    type='DeviceCIFAR100Loader',
    data_root=_base_.data_root,
    split='train',
    batch_size=64,
    augment=True,
    shuffle=True)
# Evaluation: the test split in file order, unaugmented.
val_dataloader = dict(
    train_dataloader, split='test', augment=False, shuffle=False)
test_dataloader = val_dataloader
