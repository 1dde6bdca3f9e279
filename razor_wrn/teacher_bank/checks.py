"""What a teacher bank must match: the distiller (logits only), the teacher
and data preprocessor, and the training data with its augmentation.

The header keys are computed here from the model and from the train loader
(an mmengine dataset's loader and its pipeline, or the device loader), so
the bank itself (:mod:`.bank`) and its file (:mod:`.bank_file`) know
neither.
"""
from typing import Dict, List, Tuple

import numpy as np
from mmrazor.models.task_modules import ModuleOutputsRecorder

from ..datasets import SeededRandomCropFlip
from ..datasets.device_cifar import DeviceTensorLoader
from ..errors import TeacherBankError
from .bank_file import data_sha256, weights_sha256

LOGITS_SOURCE = 'head.fc'
# Deterministic steps a bank-fed pipeline may contain besides the crop.
DETERMINISTIC_TRANSFORMS = ('PackInputs', 'LoadImageFromFile')


def check_logit_only(distiller) -> None:
    """Refuse a distiller that needs more of the teacher than its logits.

    Raises:
        TeacherBankError: a teacher recorder other than ``ModuleOutputs`` of
            ``head.fc`` (FitNets, AT, OFD features), or teacher deliveries.
    """
    features = [
        f'{name!r} ({type(recorder).__name__} of {recorder.source!r})'
        for name, recorder in distiller.teacher_recorders.recorders.items()
        if not (isinstance(recorder, ModuleOutputsRecorder)
                and recorder.source == LOGITS_SOURCE)
    ]
    if features:
        raise TeacherBankError(
            f'model.teacher_bank: the distiller records teacher features '
            f'{", ".join(features)}, but a bank holds only the teacher\'s '
            f'logits ({LOGITS_SOURCE}); it serves logit-only methods (Hinton '
            'KD, DKD, DIST). Remove model.teacher_bank for this method.')
    if distiller.deliveries.deliveries:
        raise TeacherBankError(
            'model.teacher_bank: the distiller delivers teacher results '
            f'({", ".join(distiller.deliveries.deliveries)}) that a bank '
            'does not hold. Remove model.teacher_bank for this method.')


def teacher_header(algorithm) -> Dict:
    """The header keys set by the teacher and the data preprocessor."""
    preprocessor = algorithm.data_preprocessor
    fc = algorithm.teacher.get_submodule(LOGITS_SOURCE)
    return dict(
        teacher_weights_sha256=weights_sha256(algorithm.teacher),
        num_classes=fc.out_features,
        logits_source=LOGITS_SOURCE,
        mean=preprocessor.mean.flatten().tolist(),
        std=preprocessor.std.flatten().tolist(),
        to_rgb=bool(preprocessor.to_rgb))


def pipeline_views(transforms: List) -> Dict:
    """``crop_size``, ``padding`` and ``flip`` of a bank-fed pipeline.

    Raises:
        TeacherBankError: no ``SeededRandomCropFlip``, or another transform
            that is random or unknown (RandomResizedCrop, AutoAugment, ...).
    """
    crops = [t for t in transforms if isinstance(t, SeededRandomCropFlip)]
    others = [type(t).__name__ for t in transforms
              if not isinstance(t, SeededRandomCropFlip)
              and type(t).__name__ not in DETERMINISTIC_TRANSFORMS]
    if len(crops) != 1 or others:
        raise TeacherBankError(
            'model.teacher_bank: the train pipeline must make each view by '
            'exactly one SeededRandomCropFlip (the views a bank holds); it '
            f'has {len(crops)} and other transforms {others}. Remove '
            'model.teacher_bank for this pipeline.')
    return dict(crop_size=crops[0].crop_size, padding=crops[0].padding,
                flip='horizontal')


def dataset_images(dataset) -> Tuple[np.ndarray, List[int]]:
    """uint8 ``(N, H, W, C)`` images and labels of an mmengine dataset, as
    its pipeline receives them."""
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    return (np.stack([info['img'] for info in infos]),
            [int(info['gt_label']) for info in infos])


def data_header(images: np.ndarray, labels: List[int], views: Dict) -> Dict:
    """The header keys set by the training data and its augmentation."""
    return dict(views, data_sha256=data_sha256(images, labels),
                num_images=len(images), image_size=list(images.shape[1:3]))


def loader_header(loader) -> Dict:
    """:func:`data_header` of a train loader: a torch DataLoader over an
    mmengine dataset, or the device loader."""
    if isinstance(loader, DeviceTensorLoader):
        if not loader.augment:
            raise TeacherBankError(
                'model.teacher_bank: the device train loader does not '
                'augment; a bank holds augmented views.')
        images = loader.images.permute(0, 2, 3, 1).cpu().numpy()
        return data_header(images, loader.labels.cpu().tolist(),
                           dict(crop_size=images.shape[1],
                                padding=loader.padding, flip='horizontal'))
    views = pipeline_views(loader.dataset.pipeline.transforms)
    return data_header(*dataset_images(loader.dataset), views)
