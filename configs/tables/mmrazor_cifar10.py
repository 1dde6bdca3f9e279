# MMRazor's CIFAR-10 results for the four WRNs and OFD (its model zoo, 8 GPUs
# x 16 images, 200 epochs), run on one device: 128 images per step, the same
# total batch, with BN over all 128 (README, "The b16x8 recipe on 1, 2, 4
# or 8 processes", says what that changes).
# python tools/reproduce.py configs/tables/mmrazor_cifar10.py [--budget short]
title = "MMRazor's CIFAR-10 table: four WRNs and OFD WRN-28-4 -> WRN-16-2"
# The kd configs are b16x8; here one device takes the whole 128 with BN
# over all 128, like the b128x1 vanilla rows (recipe_world_size=None turns
# off the b16x8 recipe's 8 BatchNorm groups of 16).
cfg_options = ['train_dataloader.batch_size=128', 'recipe_world_size=None']
# --budget short: about an hour on a 2-core CPU.
short = dict(epochs=4, train_images=2000, test_images=1000)
rows = [
    dict(name='WRN-16-2', config='configs/vanilla/wrn16-w2_b128x1_cifar10.py',
         reference=93.04),
    dict(name='WRN-22-4', config='configs/vanilla/wrn22-w4_b128x1_cifar10.py',
         reference=94.87),
    dict(name='WRN-28-4', config='configs/vanilla/wrn28-w4_b128x1_cifar10.py',
         reference=95.41),
    dict(name='WRN-40-2', config='configs/vanilla/wrn40-w2_b128x1_cifar10.py',
         reference=94.67),
    dict(name='OFD WRN-28-4 -> WRN-16-2',
         config='configs/kd/ofd_wrn28-4_to_wrn16-2.py', teacher='WRN-28-4',
         reference=94.21),
]
