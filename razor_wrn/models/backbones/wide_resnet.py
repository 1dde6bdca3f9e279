"""Wide Residual Network backbone (Zagoruyko & Komodakis, BMVC 2016).

A state-dict twin of ``mmrazor.models.WideResNet``: the module names and
shapes are the same, so MMRazor's published WRN checkpoints load with
``strict=True`` and give the same outputs. Unlike MMRazor's version,
``droprate``, ``norm_eval`` and ``frozen_stages`` take effect, and
``out_indices`` selects which stage features are returned.
"""
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm


class PreActBasicBlock(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-(dropout)-conv3x3 with a residual connection.

    When the shape changes, the shortcut is a 1x1 conv applied to the
    pre-activated input (as in the WRN paper and MMRazor).

    Args:
        in_channels: Channels of the block input.
        out_channels: Channels of the block output.
        stride: Stride of the first conv and of the shortcut conv.
        droprate: Dropout probability between the two convs.
        norm_cfg: Config of the norm layers, e.g. ``dict(type='SyncBN')``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 droprate: float = 0.0,
                 norm_cfg: Optional[Dict] = None) -> None:
        super().__init__()
        norm_cfg = norm_cfg or dict(type='BN')
        self.droprate = droprate
        self.bn1 = build_norm_layer(norm_cfg, in_channels)[1]
        # Not in-place: distillers record the BN outputs (OFD uses these
        # pre-ReLU features), and an in-place ReLU would overwrite them.
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(
            in_channels, out_channels, 3, stride=stride, padding=1,
            bias=False)
        self.bn2 = build_norm_layer(norm_cfg, out_channels)[1]
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(
            out_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Conv2d(
                in_channels, out_channels, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        activated = self.relu1(self.bn1(x))
        out = self.relu2(self.bn2(self.conv1(activated)))
        if self.droprate > 0:
            out = F.dropout(out, p=self.droprate, training=self.training)
        out = self.conv2(out)
        shortcut = x if self.downsample is None else self.downsample(
            activated)
        return out + shortcut


@MODELS.register_module()
class WideResNet(BaseModule):
    """WRN-``depth``-``widen_factor`` for 32x32 images (CIFAR).

    Three stages of ``(depth - 4) / 6`` pre-activation basic blocks with
    ``16k``, ``32k`` and ``64k`` channels (``k = widen_factor``) and strides
    1/2/2, after a 3x3 stem conv; a final BN + ReLU follows the last stage.

    Args:
        depth: Total depth, ``6n + 4`` with ``n >= 1`` (10, 16, 22, 28, 40).
        widen_factor: Width multiplier ``k`` of the three stages.
        in_channels: Channels of the input image.
        droprate: Dropout probability inside every block (0 disables it).
        out_indices: Stages whose features are returned, from 0 to 2.
            Stages 0 and 1 give the raw (pre-activation) stage output;
            stage 2 gives the output after the final BN + ReLU, which is
            what the classification head consumes (MMRazor's only output).
        frozen_stages: Freeze the stem (0) and stages ``1..frozen_stages``:
            their parameters get no gradient and their BN layers stay in
            eval mode; 3 includes the final BN. -1 freezes nothing.
        norm_cfg: Config of every norm layer.
        norm_eval: Keep every BN layer in eval mode (frozen running
            statistics) while the model trains.
        init_cfg: Weight initialisation config.

    Attributes:
        stage_channels: ``(16k, 32k, 64k)``, the channels of each stage's
            feature (see :meth:`stage_feature_name`).
    """

    def __init__(self,
                 depth: int,
                 widen_factor: int = 1,
                 in_channels: int = 3,
                 droprate: float = 0.0,
                 out_indices: Sequence[int] = (2, ),
                 frozen_stages: int = -1,
                 norm_cfg: Optional[Dict] = None,
                 norm_eval: bool = False,
                 init_cfg: Optional[Sequence[Dict]] = (
                     dict(type='Kaiming', layer=['Conv2d']),
                     dict(type='Constant', val=1,
                          layer=['_BatchNorm', 'GroupNorm']),
                 )) -> None:
        super().__init__(list(init_cfg) if init_cfg else None)
        if depth < 10 or (depth - 4) % 6 != 0:
            raise ValueError(
                f'WideResNet depth must be 6n+4 with n >= 1 (10, 16, 22, 28, '
                f'40, ...), got {depth}.')
        if widen_factor < 1:
            raise ValueError(
                f'widen_factor must be >= 1, got {widen_factor}.')
        if not 0.0 <= droprate < 1.0:
            raise ValueError(f'droprate must be in [0, 1), got {droprate}.')
        out_indices = tuple(out_indices)
        if not out_indices or any(i not in (0, 1, 2) for i in out_indices):
            raise ValueError(
                f'out_indices must be a non-empty subset of (0, 1, 2), got '
                f'{out_indices}.')
        if not -1 <= frozen_stages <= 3:
            raise ValueError(
                f'frozen_stages must be in [-1, 3], got {frozen_stages}.')
        norm_cfg = norm_cfg or dict(type='BN')
        self.depth = depth
        self.widen_factor = widen_factor
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        blocks_per_stage = (depth - 4) // 6
        self.stage_channels = tuple(
            c * widen_factor for c in (16, 32, 64))
        self.conv1 = nn.Conv2d(
            in_channels, 16, 3, stride=1, padding=1, bias=False)
        stage_in = 16
        for index, (channels, stride) in enumerate(
                zip(self.stage_channels, (1, 2, 2))):
            blocks = [
                PreActBasicBlock(
                    stage_in if i == 0 else channels, channels,
                    stride=stride if i == 0 else 1, droprate=droprate,
                    norm_cfg=norm_cfg) for i in range(blocks_per_stage)
            ]
            self.add_module(f'layer{index + 1}', nn.Sequential(*blocks))
            stage_in = channels
        self.bn1 = build_norm_layer(norm_cfg, stage_in)[1]
        self.relu = nn.ReLU()
        self._freeze_stages()

    def stage_feature_name(self, stage: int, pre_relu: bool = False) -> str:
        """Name (relative to the backbone) of the module whose output is a
        stage feature, for distillers that record it.

        Args:
            stage: Stage index, 0 to 2; its feature has
                ``stage_channels[stage]`` channels.
            pre_relu: False: the raw stage output (the residual sum; what
                FitNets and attention transfer use). True: that output after
                the BN that follows it, before its ReLU (OFD's feature): the
                next stage's first ``bn1``, or the final ``bn1`` for stage 2.

        Returns:
            str: e.g. ``'layer2'``, ``'layer3.0.bn1'`` or ``'bn1'``.

        Raises:
            ValueError: If ``stage`` is not 0, 1 or 2.
        """
        if stage not in (0, 1, 2):
            raise ValueError(f'stage must be 0, 1 or 2, got {stage}.')
        if not pre_relu:
            return f'layer{stage + 1}'
        return 'bn1' if stage == 2 else f'layer{stage + 2}.0.bn1'

    def _frozen_modules(self) -> Tuple[nn.Module, ...]:
        if self.frozen_stages < 0:
            return ()
        stages = [getattr(self, f'layer{i}')
                  for i in range(1, self.frozen_stages + 1)]
        # The final BN + ReLU is the activation of stage 3's output.
        final_norm = (self.bn1, ) if self.frozen_stages == 3 else ()
        return (self.conv1, *stages, *final_norm)

    def _freeze_stages(self) -> None:
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Stage features for ``out_indices``.

        Args:
            x: Images ``(N, in_channels, H, W)``, normalised.

        Returns:
            tuple[torch.Tensor]: One feature per index in ``out_indices``, in
            that order; stage ``i`` is ``(N, stage_channels[i], H / 2**i,
            W / 2**i)`` (stage 2 after the final BN + ReLU).
        """
        x = self.conv1(x)
        outs = []
        for index in range(3):
            x = getattr(self, f'layer{index + 1}')(x)
            if index == 2:
                x = self.relu(self.bn1(x))
            if index in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True) -> 'WideResNet':
        super().train(mode)
        # Runner.train() flips every module back to train mode each epoch,
        # so frozen stages and norm_eval must be re-applied here.
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
