# DIST (Huang et al., NeurIPS 2022), WRN-40-2 -> WRN-16-2 on CIFAR-10: the
# inter- and intra-class Pearson correlation of the softened predictions
# (_base_/distillers/dist.py) + CE (weight 1); the student's classifier
# starts from nn.Linear's own init, as the authors'.
_base_ = [
    '../_base_/models/kd_wrn40-2_to_wrn16-2.py',
    '../_base_/datasets/cifar10_bs16.py',
    '../_base_/schedules/cifar10_bs128.py',
    '../_base_/kd_runtime.py',
    '../_base_/distillers/dist.py',
]
model = dict(
    architecture=dict(head=_base_.dist_student_head),
    distiller=_base_.dist)
