# The reference recipe's data (cifar10_bs16.py: 16 images per process,
# recipe_world_size = 8) held on the training device, as in
# cifar10_device_bs128.py. On 1, 2 or 4 processes tools/train.py keeps the
# recipe: the device loader deals out the samples of the 8 ranks itself, 8 / N
# BatchNorm groups of 16 per step (razor_wrn/engine/train_recipe.py).
# Evaluation stays at 128 images per batch: BatchNorm then uses its running
# statistics, so the scores do not depend on the batch size.
_base_ = ['./cifar10_device_bs128.py']

recipe_world_size = 8
train_dataloader = dict(batch_size=16)
