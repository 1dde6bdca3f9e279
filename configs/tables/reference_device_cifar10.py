# reference_cifar10.py with the device-resident data pipeline: the same six
# runs (the reference recipe, 8 x 16 images per step in 8 BatchNorm groups of
# 16, 200 epochs; four WRNs, Hinton KD and OFD), batches made on the device
# instead of by DataLoader workers, so on a GPU no worker process or per-image
# Python limits the step. With --jobs 2 the first two rows train together,
# then each student after its teacher.
# python tools/reproduce.py configs/tables/reference_device_cifar10.py --jobs 2 --compile --amp bf16 --channels-last
title = ('The reference recipe on CIFAR-10, device-resident data: four WRNs, '
         'Hinton KD and OFD')
# --budget short: a check that every row runs, not a measurement.
short = dict(epochs=4, train_images=2000, test_images=1000)
rows = [
    dict(name='WRN-40-2',
         config='configs/vanilla/wrn40-w2_b16x8_cifar10_device.py',
         reference=94.67),
    dict(name='WRN-16-2',
         config='configs/vanilla/wrn16-w2_b16x8_cifar10_device.py',
         reference=93.04),
    # No CIFAR-10 number of MMRazor's for this pair.
    dict(name='Hinton KD WRN-40-2 -> WRN-16-2',
         config='configs/kd/wrn40-2_to_wrn16-2_b16x8_device.py',
         teacher='WRN-40-2'),
    dict(name='WRN-28-4',
         config='configs/vanilla/wrn28-w4_b16x8_cifar10_device.py',
         reference=95.41),
    dict(name='WRN-22-4',
         config='configs/vanilla/wrn22-w4_b16x8_cifar10_device.py',
         reference=94.87),
    dict(name='OFD WRN-28-4 -> WRN-16-2',
         config='configs/kd/ofd_wrn28-4_to_wrn16-2_b16x8_device.py',
         teacher='WRN-28-4', reference=94.21),
]
