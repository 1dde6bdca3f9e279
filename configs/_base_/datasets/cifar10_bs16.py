# CIFAR-10, 16 images per GPU (the reference recipe runs 8 GPUs x 16).
# `_scope_` keeps these parts building from mmpretrain's registries when a
# distillation config switches the default scope to mmrazor.
dataset_type = 'LenientCIFAR10'
data_root = 'data/cifar10'
# Normalisation lives in the model's data_preprocessor
# (configs/_base_/models/wrn_cifar10.py).
# RandomCrop(32, padding=4) + RandomFlip(0.5) with the draws taken from
# (seed, epoch, sample index) (the sampler below carries seed and epoch to
# the workers), so resumed runs are exact; each sample records its view.
train_pipeline = [
    dict(type='SeededRandomCropFlip', crop_size=32, padding=4,
         flip_prob=0.5),
    dict(type='PackInputs',
         meta_keys=('sample_idx', 'img_shape', 'crop_offset', 'flip',
                    'flip_direction')),
]
test_pipeline = [dict(type='PackInputs')]
# Workers hand over one stacked uint8 batch instead of mmengine's default
# list of per-image tensors (pseudo_collate): one shared-memory transfer per
# batch, not one per image. The data preprocessor takes either form and
# gives the same normalised batch.
collate_fn = dict(type='default_collate')

# The recipe is 8 processes x 16 images (BatchNorm over each process's 16,
# gradients over the 128). On N = 1, 2 or 4 processes tools/train.py keeps
# it: 128 / N images per process in 8 / N BatchNorm groups of 16, the groups
# holding the samples 8 processes would (razor_wrn/engine/train_recipe.py).
# None: 16 images per process on any number of processes.
recipe_world_size = 8
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    collate_fn=collate_fn,
    dataset=dict(
        _scope_='mmpretrain',
        type=dataset_type,
        data_root=data_root,
        split='train',
        download=True,
        pipeline=train_pipeline),
    sampler=dict(type='EpochSeededSampler', shuffle=True),
    # Each batch goes to a worker as one list of ints with the seed and
    # epoch, not 16 index objects pickled one by one (seeded_batches.py).
    # train_dataloader.drop_last moves here (tools/train.py does it).
    batch_sampler=dict(type='SeededBatchSampler'),
)
val_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    collate_fn=collate_fn,
    dataset=dict(
        _scope_='mmpretrain',
        type=dataset_type,
        data_root=data_root,
        split='test',
        download=True,
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(_scope_='mmpretrain', type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
