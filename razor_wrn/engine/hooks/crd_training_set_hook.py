"""Give CRD's loss the classes of the training images before training."""
import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from torch.utils.data import DataLoader

from ...errors import CRDTrainingSetError
from ...models.losses import ContrastiveRepresentationLoss


def training_set_labels(dataloader: DataLoader) -> torch.Tensor:
    """The class of every training image, indexed by ``sample_idx``.

    Args:
        dataloader: The run's training loader: an mmengine/mmpretrain
            dataset's loader (``dataset.get_gt_labels()``, with
            ``indices`` already applied) or a device-resident loader
            (``labels``).

    Returns:
        torch.Tensor: Shape (M,), long.
    """
    labels = getattr(dataloader, 'labels', None)
    if labels is None:
        labels = np.asarray(dataloader.dataset.get_gt_labels())
    return torch.as_tensor(labels).long()


@HOOKS.register_module()
class CRDTrainingSetHook(Hook):
    """Before training, hand every :class:`ContrastiveRepresentationLoss` of
    the model the classes of the training images, which its negatives are
    drawn by (images of other classes), and check that its memory banks
    have one row per training image.

    Config: ``default_hooks.crd_training_set =
    dict(type='CRDTrainingSetHook')`` (the CRD configs have it).

    Raises:
        CRDTrainingSetError: the model has no CRD loss, or a loss's
            ``num_samples`` is not the size of the training set (the
            message gives the option to set).
    """

    priority = 'NORMAL'

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        losses = [m for m in model.modules()
                  if isinstance(m, ContrastiveRepresentationLoss)]
        if not losses:
            raise CRDTrainingSetError(
                'CRDTrainingSetHook: the model has no '
                'ContrastiveRepresentationLoss; remove the hook with '
                '--cfg-options default_hooks.crd_training_set=None.')
        labels = training_set_labels(runner.train_dataloader)
        for loss in losses:
            try:
                loss.bind_training_set(labels)
            except ValueError as error:
                raise CRDTrainingSetError(str(error)) from None
