# The WRN reference recipe: 200 epochs of SGD, lr 0.1 divided by 10 at
# epochs 100 and 150, for a total batch of 128 images.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[100, 150], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
# `tools/train.py --auto-scale-lr` scales lr linearly from this batch size.
auto_scale_lr = dict(base_batch_size=128)
