# Hinton KD (wrn40-2_to_wrn16-2.py) at a size a CPU trains: a WRN-16-2
# teacher and a WRN-10-1 student (78 K parameters). Train the teacher first:
#   python tools/train.py configs/vanilla/wrn16-w2_b128x1_cifar10.py
# (its final checkpoint is the teacher_ckpt below).
_base_ = ['./wrn40-2_to_wrn16-2.py']
model = dict(
    architecture=dict(backbone=dict(depth=10, widen_factor=1)),
    teacher=dict(backbone=dict(depth=16, widen_factor=2)),
    teacher_ckpt='work_dirs/wrn16-w2_b128x1_cifar10/epoch_200.pth')
