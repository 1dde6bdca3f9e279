"""An image classifier whose head width follows its backbone and whose
training loss takes the batch's labels as one tensor."""
from typing import Dict, List, Optional, Union

import torch
from mmpretrain.models import ImageClassifier
from mmpretrain.structures import DataSample
from mmpretrain.registry import MODELS
from torch import nn

from ..loss_parsing import LossParsing


@MODELS.register_module()
class WRNClassifier(LossParsing, ImageClassifier):
    """mmpretrain's ``ImageClassifier`` with ``head.in_channels`` taken from
    the backbone's ``stage_channels[-1]``, and a loss that also takes the
    labels as a tensor.

    So a config changes a WRN's depth and width alone
    (``model.backbone.widen_factor=1``) and the linear head follows. Same
    modules and state dict as ``ImageClassifier``.

    ``loss(inputs, labels)`` with an int64 ``(N,)`` tensor instead of ``N``
    data samples computes the head's loss exactly as mmpretrain does from
    the samples (their labels concatenated are that tensor), without one
    Python object per image; ``CapturedEpochBasedTrainLoop`` trains this
    way. A distiller's recorders see the same calls. Its losses are parsed
    without mmengine's no-op ops (:mod:`~razor_wrn.models.loss_parsing`).

    Args:
        backbone: Backbone config or module; it must have ``stage_channels``
            unless ``head`` sets ``in_channels``.
        head: Head config; leave out ``in_channels`` (or set it to the
            backbone's last stage channels).
        **kwargs: The other ``ImageClassifier`` arguments (``neck``,
            ``data_preprocessor``, ``train_cfg``, ``init_cfg``, ...).

    Raises:
        ValueError: If ``head.in_channels`` is set and differs from the
            backbone's, or cannot be derived.
    """

    def __init__(self,
                 backbone: Union[Dict, nn.Module],
                 head: Optional[Dict] = None,
                 **kwargs) -> None:
        if not isinstance(backbone, nn.Module):
            backbone = MODELS.build(backbone)
        if head is not None:
            head = dict(head)
            channels = getattr(backbone, 'stage_channels', (None, ))[-1]
            given = head.get('in_channels')
            if channels is None and given is None:
                raise ValueError(
                    f'{type(backbone).__name__} has no `stage_channels`: '
                    'set the head\'s `in_channels` in the config.')
            if None not in (channels, given) and given != channels:
                raise ValueError(
                    f'head.in_channels={given} does not match the backbone '
                    f'(last stage: {channels} channels); remove '
                    '`in_channels` from the head config to derive it.')
            head['in_channels'] = channels if channels is not None else given
        super().__init__(backbone=backbone, head=head, **kwargs)

    def loss(self, inputs: torch.Tensor,
             data_samples: Union[List[DataSample], torch.Tensor]) -> dict:
        """The head's losses for a batch.

        Args:
            inputs (torch.Tensor): Preprocessed images ``(N, C, H, W)``.
            data_samples (list[DataSample] | torch.Tensor): ``N`` samples
                with ``gt_label``, or their labels as one int64 ``(N,)``
                tensor (single-label heads without ``cal_acc``).

        Returns:
            dict[str, torch.Tensor]: ``loss``, as mmpretrain's head gives it.

        Raises:
            ValueError: A label tensor for a head that needs samples.
        """
        if not torch.is_tensor(data_samples):
            return super().loss(inputs, data_samples)
        if not self.takes_label_tensor:
            raise ValueError(
                f'{type(self.head).__name__} with cal_acc needs data '
                'samples; pass a list of DataSample.')
        cls_score = self.head(self.extract_feat(inputs))
        # mmpretrain's ClsHead._get_loss, with the concatenated labels given.
        loss = self.head.loss_module(
            cls_score, data_samples, avg_factor=cls_score.size(0))
        return dict(loss=loss)

    @property
    def takes_label_tensor(self) -> bool:
        """Whether :meth:`loss` accepts the labels as one tensor: the head
        computes its loss from ``(cls_score, labels)`` alone."""
        return hasattr(self.head, 'loss_module') and not getattr(
            self.head, 'cal_acc', False)
