# The CIFAR-100 distillation benchmark's recipe (CRD/RepDistiller, DKD/
# mdistiller): 240 epochs of SGD, lr 0.05 divided by 10 at epochs 150, 180
# and 210, weight decay 5e-4, for a batch of 64 images.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[150, 180, 210], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=240, val_interval=1)
# `tools/train.py --auto-scale-lr` scales lr linearly from this batch size.
auto_scale_lr = dict(base_batch_size=64)
