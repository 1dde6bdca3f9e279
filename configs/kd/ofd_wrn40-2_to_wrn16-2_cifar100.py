# WRN-40-2 -> WRN-16-2 on CIFAR-100, overhaul of feature distillation (Heo et
# al., ICCV 2019), MMRazor's partial L2 of the pre-ReLU stage outputs, + CE,
# with the teacher's BN normalising each batch by its own statistics, as
# overhaul-distillation and mdistiller run the teacher (its weights and
# running statistics are not changed; MMRazor's CIFAR-10 OFD keeps the
# running statistics);
# the benchmark's recipe (batch 64, SGD lr 0.05, 240 epochs:
# _base_/schedules/cifar100_bs64.py). The teacher: see
# _base_/models/kd_wrn40-2_to_wrn16-2_cifar100.py.
_base_ = [
    '../_base_/models/kd_wrn40-2_to_wrn16-2_cifar100.py',
    '../_base_/datasets/cifar100_bs64.py',
    '../_base_/schedules/cifar100_bs64.py',
    '../_base_/kd_runtime.py',
    '../_base_/distillers/ofd.py',
]
model = dict(distiller=_base_.ofd, teacher_bn_stats='batch')
