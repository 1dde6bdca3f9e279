# Single-device variant: 128 images per step, the same total batch as 8x16.
_base_ = ['./cifar10_bs16.py']
# One process's batch on any number of processes: no recipe to keep.
recipe_world_size = None
train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader
