# wrn16-2_to_wrn10-1.py with the device-resident data pipeline, 128 images
# per step on one device (wrn40-2_to_wrn16-2_device.py). A teacher trained
# with configs/vanilla/wrn16-w2_b128x1_cifar10_device.py is in its own work
# dir: pass --cfg-options model.teacher_ckpt=work_dirs/
# wrn16-w2_b128x1_cifar10_device/epoch_200.pth.
_base_ = ['./wrn40-2_to_wrn16-2_device.py']
model = dict(
    architecture=dict(backbone=dict(depth=10, widen_factor=1)),
    teacher=dict(backbone=dict(depth=16, widen_factor=2)),
    teacher_ckpt='work_dirs/wrn16-w2_b128x1_cifar10/epoch_200.pth')
