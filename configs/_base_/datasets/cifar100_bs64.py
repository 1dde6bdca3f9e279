# CIFAR-100 (fine labels, data/cifar100/cifar-100-python), 64 images per
# step: the recipe of the CIFAR-100 distillation benchmark (RepDistiller,
# mdistiller). Pipeline, collate and evaluator are CIFAR-10's
# (RandomCrop(32, padding=4) + horizontal flip for training).
_base_ = ['./cifar10_bs16.py']
dataset_type = 'LenientCIFAR100'
data_root = 'data/cifar100'
# 64 images per process on any number of processes.
recipe_world_size = None
train_dataloader = dict(
    batch_size=64, dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(
    batch_size=64, dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
