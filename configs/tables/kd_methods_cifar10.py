# Distillation methods for WRN-40-2 -> WRN-16-2, the students at equal
# budget: the same teacher (trained first by its row, longer under --budget
# short), student, data and schedule for each.
# Only the two vanilla rows have a published CIFAR-10 number (MMRazor's).
# python tools/reproduce.py configs/tables/kd_methods_cifar10.py --budget short
title = ('Distillation methods, WRN-40-2 -> WRN-16-2 on CIFAR-10, students '
         'at equal budget')
# The kd configs are b16x8; here one device takes the whole 128 with BN
# over all 128, like the b128x1 vanilla rows (recipe_world_size=None turns
# off the b16x8 recipe's 8 BatchNorm groups of 16).
cfg_options = ['train_dataloader.batch_size=128', 'recipe_world_size=None']
# --budget short: 62 minutes on a 2-core CPU with --jobs 2 (2026-12-04,
# beside other jobs). The teacher row trains twice as long as the
# students: at the students' 5 epochs it is no better than the student
# alone, so distilling from it cannot show anything; 10 epochs is what
# the time allows.
short = dict(epochs=5, train_images=3000, test_images=1000,
             teacher_epochs=10)
teacher = 'teacher WRN-40-2'
rows = [
    dict(name=teacher, config='configs/vanilla/wrn40-w2_b128x1_cifar10.py',
         reference=94.67),
    # Two seeds for the baseline and the main method, so their difference
    # can be read against the spread between seeds.
    dict(name='WRN-16-2, no distillation',
         config='configs/vanilla/wrn16-w2_b128x1_cifar10.py',
         reference=93.04, seeds=[0, 1]),
    dict(name='Hinton KD', config='configs/kd/wrn40-2_to_wrn16-2.py',
         teacher=teacher, seeds=[0, 1]),
    dict(name='FitNets', config='configs/kd/fitnets_wrn40-2_to_wrn16-2.py',
         teacher=teacher),
    dict(name='AT', config='configs/kd/at_wrn40-2_to_wrn16-2.py',
         teacher=teacher),
    # Its 20-epoch loss warm-up would span the whole short run.
    dict(name='DKD', config='configs/kd/dkd_wrn40-2_to_wrn16-2.py',
         teacher=teacher,
         short_options=['default_hooks.dkd_warmup.warmup_epochs=1']),
    dict(name='CRD', config='configs/kd/crd_wrn40-2_to_wrn16-2.py',
         teacher=teacher,
         # One memory-bank row per training image of the short budget.
         short_options=[
             'model.distiller.distill_losses.loss_crd.num_samples=3000']),
    dict(name='DIST', config='configs/kd/dist_wrn40-2_to_wrn16-2.py',
         teacher=teacher),
    # Its 20-epoch loss warm-up would span the whole short run.
    dict(name='ReviewKD', config='configs/kd/reviewkd_wrn40-2_to_wrn16-2.py',
         teacher=teacher,
         short_options=['default_hooks.reviewkd_warmup.warmup_epochs=1']),
]
