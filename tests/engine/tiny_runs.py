"""Configs shared by the loop tests: WRN-10-1 classifiers, a Hinton-KD
distillation of one into another, and CIFAR-10 loaders of tiny data (the
device-resident one on the CPU, and mmpretrain's standard one)."""
from typing import Dict

PREPROCESSOR = dict(
    type='ClsDataPreprocessor', num_classes=10,
    mean=[125.307, 122.961, 113.8575], std=[51.5865, 50.847, 51.255],
    to_rgb=False)


def classifier(type_: str = 'ImageClassifier') -> Dict:
    """A WRN-10-1 ``ImageClassifier`` (or ``WRNClassifier``, whose loss takes
    the labels as one tensor)."""
    head = dict(type='LinearClsHead', num_classes=10,
                loss=dict(type='CrossEntropyLoss'), topk=(1, ))
    if type_ == 'ImageClassifier':
        head['in_channels'] = 64
    return dict(
        _scope_='mmpretrain', type=type_, data_preprocessor=PREPROCESSOR,
        backbone=dict(type='WideResNet', depth=10, widen_factor=1),
        neck=dict(type='GlobalAveragePooling'), head=head)


def hinton_kd(student: Dict) -> Dict:
    """``FrozenTeacherDistill`` of a random ``student``-like teacher into
    ``student``: KD at T=4, weight 0.9, plus the student's CE."""
    logits = dict(type='ModuleOutputs', source='head.fc')
    return dict(
        _scope_='mmrazor', type='FrozenTeacherDistill',
        architecture=student, teacher=dict(student),
        distiller=dict(
            type='ConfigurableDistiller',
            student_recorders=dict(logits=logits),
            teacher_recorders=dict(logits=logits),
            distill_losses=dict(loss_kd=dict(
                type='HintonKDLoss', temperature=4.0, loss_weight=0.9)),
            loss_forward_mappings=dict(loss_kd=dict(
                preds_S=dict(from_student=True, recorder='logits'),
                preds_T=dict(from_student=False, recorder='logits')))))


def device_loader(data_root: str, train: bool) -> Dict:
    """The device-resident loader on the CPU, batches of 8: the training
    split augmented and shuffled, or the test split in file order."""
    return dict(type='DeviceCIFAR10Loader', data_root=data_root,
                split='train' if train else 'test', batch_size=8,
                augment=train, shuffle=train, device='cpu')


def standard_loader(data_root: str, train: bool) -> Dict:
    """mmpretrain's loader of the same split (PackInputs only)."""
    return dict(
        batch_size=8, num_workers=0,
        dataset=dict(_scope_='mmpretrain', type='LenientCIFAR10',
                     data_root=data_root, split='train' if train else 'test',
                     download=False, pipeline=[dict(type='PackInputs')]),
        sampler=dict(type='DefaultSampler', shuffle=train))
