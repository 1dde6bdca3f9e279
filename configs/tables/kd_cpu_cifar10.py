# Hinton KD at a size a 2-core CPU trains in under an hour: WRN-16-2 ->
# WRN-10-1, three seeds for the student alone and for the distilled one, so
# that their difference can be read against the spread between seeds.
# python tools/reproduce.py configs/tables/kd_cpu_cifar10.py --budget short --jobs 2
title = 'Hinton KD, WRN-16-2 -> WRN-10-1 on CIFAR-10, a CPU-sized pair'
# Validation every 5 epochs: the teacher's evaluation beside the student's
# would otherwise cost as much as a third of the distillation's epoch.
cfg_options = ['train_cfg.val_interval=5']
# 30 epochs on the first 10,000 training images, all 10,000 test images.
short = dict(epochs=30, train_images=10000, test_images=10000)
teacher = 'teacher WRN-16-2'
rows = [
    dict(name=teacher,
         config='configs/vanilla/wrn16-w2_b128x1_cifar10_device.py'),
    dict(name='WRN-10-1, no distillation',
         config='configs/vanilla/wrn10-w1_b128x1_cifar10_device.py',
         seeds=[0, 1, 2]),
    dict(name='Hinton KD', config='configs/kd/wrn16-2_to_wrn10-1_device.py',
         teacher=teacher, seeds=[0, 1, 2]),
]
