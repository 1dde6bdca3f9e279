# An mmpretrain classifier over razor_wrn's WideResNet, WRN-16-2 unless a
# config overrides `depth` and `widen_factor`; the head's input width follows
# the backbone (WRNClassifier).
model = dict(
    _scope_='mmpretrain',
    type='WRNClassifier',
    data_preprocessor=dict(
        # ClsDataPreprocessor with a two-op path for tensor batches.
        type='TensorBatchPreprocessor',
        num_classes=10,
        # RGB mean/std of the CIFAR-10 training set, in pixel units.
        mean=[125.307, 122.961, 113.8575],
        std=[51.5865, 50.847, 51.255],
        # The CIFAR files already hold RGB.
        to_rgb=False),
    backbone=dict(
        type='WideResNet', depth=16, widen_factor=2,
        # SyncBN for BN statistics over all GPUs of a multi-GPU run (GPUs
        # only; one process turns it back into BN).
        norm_cfg=dict(type='BN')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)),
)
