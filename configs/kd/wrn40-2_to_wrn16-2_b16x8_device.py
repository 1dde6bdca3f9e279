# wrn40-2_to_wrn16-2.py (Hinton KD, the reference recipe: 8 BatchNorm groups
# of 16 per step of 128) with the device-resident data pipeline: the b128x1
# device config with 16 images per recipe rank (as
# configs/_base_/datasets/cifar10_device_bs16.py).
_base_ = ['./wrn40-2_to_wrn16-2_device.py']

recipe_world_size = 8
train_dataloader = dict(batch_size=16)
