"""ReviewKD's attention-based fusion (ABF) of the student's features.

Chen, Liu, Zhao & Jia, "Distilling Knowledge via Knowledge Review", CVPR
2021, https://arxiv.org/abs/2104.09044: each student feature is fused with
the fused feature of the stage after it, deepest first (the "review"
path), and compared with the teacher's feature of its own stage by the
hierarchical context loss (:class:`~razor_wrn.models.losses.HCLLoss`).
Reference implementations: ``ABF`` and ``ReviewKD`` in the authors'
``CIFAR-100/model/reviewkd.py`` (https://github.com/dvlab-research/ReviewKD)
and in mdistiller's ``mdistiller/distillers/ReviewKD.py``.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.models.architectures.connectors.base_connector import \
    BaseConnector
from mmrazor.registry import MODELS


class ABF(nn.Module):
    """One attention-based fusion: a student feature to ``mid_channels``
    (1x1 conv + BN), blended with the deeper fused feature by two
    per-pixel attention maps, then to the teacher's channels (3x3 conv +
    BN).

    Args:
        in_channels: Channels of the student feature.
        mid_channels: Channels of the fused (residual) features.
        out_channels: Channels of the teacher feature it is compared with.
        fuse: Whether a deeper fused feature is blended in (all but the
            deepest ABF).
    """

    def __init__(self, in_channels: int, mid_channels: int,
                 out_channels: int, fuse: bool) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, 1, bias=False),
            nn.BatchNorm2d(mid_channels))
        self.conv2 = nn.Sequential(
            nn.Conv2d(mid_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels))
        # Two sigmoid maps from both inputs: the weights of the student's
        # own feature and of the deeper fused one at each pixel.
        self.att_conv = nn.Sequential(
            nn.Conv2d(mid_channels * 2, 2, 1), nn.Sigmoid()) if fuse else None
        # The reference code's init of the two convs (a = 1: gain 1).
        nn.init.kaiming_uniform_(self.conv1[0].weight, a=1)
        nn.init.kaiming_uniform_(self.conv2[0].weight, a=1)

    def forward(self, x: torch.Tensor, residual: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Fuse ``x`` with ``residual``.

        Args:
            x: Student feature (N, in_channels, H, W).
            residual: The deeper ABF's fused feature (N, mid_channels, h,
                w), upsampled here to H x W (nearest); None for the
                deepest.

        Returns:
            tuple: The output compared with the teacher, (N, out_channels,
            H, W), and the fused feature passed on, (N, mid_channels, H, W).
        """
        x = self.conv1(x)
        if self.att_conv is not None:
            residual = F.interpolate(residual, x.shape[2:], mode='nearest')
            attention = self.att_conv(torch.cat([x, residual], dim=1))
            x = x * attention[:, :1] + residual * attention[:, 1:]
        return self.conv2(x), x


@MODELS.register_module()
class ABFConnector(BaseConnector):
    """ReviewKD's review path over a list of student features.

    The input lists the student's features from the shallowest to the
    deepest (for a WRN: the three stage outputs and the pooled feature,
    taken as (N, C, 1, 1)); one :class:`ABF` per feature runs from the
    deepest to the shallowest, each fusing its feature with the previous
    one's fused feature. The output lists the ABF outputs in the input's
    order, each with the teacher feature's channels and the student
    feature's size (the reference code's ``shapes`` and ``out_shapes``
    are those sizes; they are equal for two WRNs on the same images).

    Config (channels are filled from the models by the distiller, see
    ``connector_channels.py``): ``dict(type='ABFConnector')``.

    Args:
        in_channels: Channels of each student feature, shallow to deep.
        out_channels: Channels of each teacher feature, same order.
        mid_channels: Channels of the fused features; None: the deepest
            student feature's, at most 512 (the reference code).
        init_cfg: mmengine init config; None keeps the reference init.

    Raises:
        ValueError: ``in_channels`` and ``out_channels`` differ in length.
    """

    def __init__(self, in_channels: Sequence[int],
                 out_channels: Sequence[int],
                 mid_channels: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        if len(in_channels) != len(out_channels):
            raise ValueError(
                f'ABFConnector: {len(in_channels)} student and '
                f'{len(out_channels)} teacher features; they are fused and '
                'compared pairwise.')
        mid = mid_channels or min(512, in_channels[-1])
        last = len(in_channels) - 1
        self.abfs = nn.ModuleList(
            ABF(c_in, mid, c_out, fuse=index < last)
            for index, (c_in, c_out) in enumerate(
                zip(in_channels, out_channels)))

    def forward_train(self, feature: Sequence[torch.Tensor]
                      ) -> List[torch.Tensor]:
        """Fused student features.

        Args:
            feature: The student's features, shallow to deep, each (N, C,
                H, W) or (N, C).

        Returns:
            list[torch.Tensor]: One (N, out_channels[i], H_i, W_i) per
            input, same order.
        """
        outputs: List[torch.Tensor] = []
        residual = None
        for abf, x in zip(reversed(self.abfs), reversed(list(feature))):
            if x.dim() == 2:
                x = x[:, :, None, None]
            out, residual = abf(x, residual)
            outputs.insert(0, out)
        return outputs
