# Hinton KD (Hinton et al. 2015), WRN-40-2 -> WRN-16-2 on CIFAR-10:
# 0.9 * T^2 KL(teacher || student) at T=4 + 0.1 * CE, the weights of
# mdistiller's and RepDistiller's CIFAR KD recipe; otherwise the vanilla
# reference recipe (8 GPUs x 16, 200 epochs).
_base_ = [
    '../_base_/models/kd_wrn40-2_to_wrn16-2.py',
    '../_base_/datasets/cifar10_bs16.py',
    '../_base_/schedules/cifar10_bs128.py',
    '../_base_/kd_runtime.py',
    '../_base_/distillers/hinton_kd.py',
]
model = dict(
    architecture=dict(head=dict(loss=dict(loss_weight=0.1))),
    distiller=_base_.hinton_kd)
