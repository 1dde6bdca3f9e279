# CIFAR-10 held on the training device as one uint8 tensor per split; each
# batch is shuffled, cropped (zero padding 4) and flipped there, with the
# distribution of cifar10_bs16.py's RandomCrop + RandomFlip pipeline (see
# razor_wrn/datasets/device_cifar.py). No worker processes, no per-image
# Python. The data must already be on disk (get it once with a standard
# config's download=True, or see the README).
_base_ = ['./cifar10_bs128.py']

# mmengine's Runner only builds torch DataLoaders; this one also builds the
# device loader.
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
