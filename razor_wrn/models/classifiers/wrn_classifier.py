"""An image classifier whose head width follows its backbone."""
from typing import Dict, Optional, Union

from mmpretrain.models import ImageClassifier
from mmpretrain.registry import MODELS
from torch import nn


@MODELS.register_module()
class WRNClassifier(ImageClassifier):
    """mmpretrain's ``ImageClassifier`` with ``head.in_channels`` taken from
    the backbone's ``stage_channels[-1]``.

    So a config changes a WRN's depth and width alone
    (``model.backbone.widen_factor=1``) and the linear head follows. Same
    modules and state dict as ``ImageClassifier``.

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
