# WRN-40-2 -> WRN-40-1 on CIFAR-100, CRD (Tian et al., ICLR 2020): 0.8 * the
# contrastive loss against 16,384 negatives from memory banks saved in every
# checkpoint, + CE; the benchmark's recipe (batch 64, SGD lr 0.05, 240 epochs:
# _base_/schedules/cifar100_bs64.py). The teacher: see
# _base_/models/kd_wrn40-2_to_wrn16-2_cifar100.py.
_base_ = [
    '../_base_/models/kd_wrn40-2_to_wrn40-1_cifar100.py',
    '../_base_/datasets/cifar100_bs64.py',
    '../_base_/schedules/cifar100_bs64.py',
    '../_base_/kd_runtime.py',
    '../_base_/distillers/crd.py',
]
model = dict(distiller=_base_.crd)
default_hooks = dict(crd_training_set=_base_.crd_training_set)
