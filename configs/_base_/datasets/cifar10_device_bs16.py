# The reference recipe's data (cifar10_bs16.py: 16 images per process,
# recipe_world_size = 8) held on the training device, as in
# cifar10_device_bs128.py. On 1, 2 or 4 processes tools/train.py keeps the
# recipe: the device loader deals out the samples of the 8 ranks itself, 8 / N
# BatchNorm groups of 16 per step (razor_wrn/engine/train_recipe.py).
_base_ = ['./cifar10_bs16.py']

runner_type = 'DeviceDataRunner'
train_dataloader = dict(
    _delete_=True,
    type='DeviceCIFAR10Loader',
    data_root=_base_.data_root,
    split='train',
    batch_size=16,
    augment=True,
    shuffle=True)
# Evaluation gives the same scores at any batch size (BatchNorm uses its
# running statistics): 128 images per batch.
val_dataloader = dict(
    train_dataloader, split='test', batch_size=128, augment=False,
    shuffle=False)
test_dataloader = val_dataloader
