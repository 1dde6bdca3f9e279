# CRD (Tian et al., ICLR 2020), WRN-40-2 -> WRN-16-2 on CIFAR-10: 0.8 * the
# contrastive loss of the pooled features' 128-d embeddings against 16,384
# negatives from memory banks (_base_/distillers/crd.py) + CE (weight 1), as
# in RepDistiller's CIFAR recipe. The banks are saved in every checkpoint.
_base_ = [
    '../_base_/models/kd_wrn40-2_to_wrn16-2.py',
    '../_base_/datasets/cifar10_bs16.py',
    '../_base_/schedules/cifar10_bs128.py',
    '../_base_/kd_runtime.py',
    '../_base_/distillers/crd.py',
]
model = dict(distiller=_base_.crd)
default_hooks = dict(crd_training_set=_base_.crd_training_set)
