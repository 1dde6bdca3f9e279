"""A distillation recorder addressed by backbone stage, not module path."""
from typing import Optional

from mmrazor.models.task_modules.recorder import ModuleOutputsRecorder
from mmrazor.registry import TASK_UTILS
from torch import nn


@TASK_UTILS.register_module()
class StageOutputsRecorder(ModuleOutputsRecorder):
    """Record a stage feature of a classifier's backbone by stage index.

    The backbone names the module that produces the feature
    (``backbone.stage_feature_name(stage, pre_relu)``, see
    :class:`~razor_wrn.models.backbones.WideResNet`) and its channels
    (``backbone.stage_channels[stage]``), so one distill config fits every
    WRN depth and width. Recording is mmrazor's forward hook on that module
    (registered once, when the distiller prepares the model); after that
    :attr:`source` is the module's full path, which mmrazor's
    ``OFDDistiller`` uses to find the teacher's BN.

    Config: ``dict(type='StageOutputs', stage=1)``.

    Args:
        stage: Stage index, 0 to 2.
        pre_relu: Record the stage output after its following BN, before
            the ReLU (OFD), instead of the raw stage output.
    """

    def __init__(self, stage: int, pre_relu: bool = False) -> None:
        super().__init__(source=f'stage {stage}')
        self.stage = stage
        self.pre_relu = pre_relu

    def prepare_from_model(self, model: Optional[nn.Module] = None) -> None:
        """Resolve the stage to a module of ``model.backbone`` and hook it.

        Raises:
            TypeError: If the model's backbone has no stage feature API.
        """
        backbone = getattr(model, 'backbone', None)
        if not hasattr(backbone, 'stage_feature_name'):
            raise TypeError(
                'StageOutputs needs a classifier whose backbone has '
                '`stage_feature_name` (razor_wrn\'s WideResNet); got '
                f'{type(backbone).__name__}. Use ModuleOutputs with a module '
                'path instead.')
        self._source = 'backbone.' + backbone.stage_feature_name(
            self.stage, self.pre_relu)
        super().prepare_from_model(model)
