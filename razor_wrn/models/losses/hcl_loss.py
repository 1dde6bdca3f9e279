"""Hierarchical context loss (HCL) of ReviewKD.

Chen, Liu, Zhao & Jia, "Distilling Knowledge via Knowledge Review", CVPR
2021, https://arxiv.org/abs/2104.09044. Reference implementations: the
authors' ``CIFAR-100/model/reviewkd.py`` (``hcl``,
https://github.com/dvlab-research/ReviewKD) and mdistiller's
``mdistiller/distillers/ReviewKD.py`` (``hcl_loss``); both compute the same.
The student's features reach it through the attention-based fusion of
:class:`~razor_wrn.models.connectors.ABFConnector`.
"""
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.registry import MODELS

# Pyramid levels of the context: average pools to 4x4, 2x2 and 1x1, each
# used only where it is smaller than the feature.
LEVELS = (4, 2, 1)


def _as_map(feature: torch.Tensor) -> torch.Tensor:
    """A pooled (N, C) feature as the (N, C, 1, 1) map it came from."""
    return feature[:, :, None, None] if feature.dim() == 2 else feature


def hcl_loss(s_feats: Sequence[torch.Tensor],
             t_feats: Sequence[torch.Tensor]) -> torch.Tensor:
    """Sum over feature pairs of a weighted mean of MSEs at several scales.

    For a pair of (N, C, H, W) maps the terms are the MSE of the maps
    (weight 1) and of their adaptive average pools to 4x4, 2x2 and 1x1
    (weights 1/2, 1/4, 1/8), a level taken only where it is smaller than
    H; the pair's loss is the weighted sum divided by the sum of the
    weights used. E.g. an 8x8 pair: (mse + mse_4/2 + mse_2/4 + mse_1/8) /
    1.875; a 1x1 pair: mse alone.

    Args:
        s_feats (Sequence[torch.Tensor]): Student features, each (N, C, H,
            W) or (N, C) (a pooled feature, taken as (N, C, 1, 1)).
        t_feats (Sequence[torch.Tensor]): Teacher features of the same
            shapes, in the same order.

    Returns:
        torch.Tensor: Scalar loss.

    Raises:
        ValueError: the lists differ in length or a pair in shape (MSE
            would broadcast them silently).
    """
    if len(s_feats) != len(t_feats):
        raise ValueError(f'HCL needs as many student features as teacher '
                         f'features; got {len(s_feats)} and {len(t_feats)}.')
    total = 0.0
    for index, (fs, ft) in enumerate(zip(s_feats, t_feats)):
        fs, ft = _as_map(fs), _as_map(ft)
        if fs.shape != ft.shape:
            raise ValueError(
                f'HCL feature {index}: student {tuple(fs.shape)} and teacher '
                f'{tuple(ft.shape)} differ; the fused student features must '
                'have the teacher\'s channels and size.')
        loss = F.mse_loss(fs, ft)
        weight, weights = 1.0, 1.0
        for level in LEVELS:
            if level >= fs.shape[2]:
                continue
            weight /= 2
            loss = loss + weight * F.mse_loss(
                F.adaptive_avg_pool2d(fs, level),
                F.adaptive_avg_pool2d(ft, level))
            weights += weight
        total = total + loss / weights
    return total


@MODELS.register_module()
class HCLLoss(nn.Module):
    """ReviewKD's hierarchical context loss, :func:`hcl_loss` x
    ``loss_weight``.

    Config: ``dict(type='HCLLoss', loss_weight=5.0)`` (the authors' weight
    for their CIFAR-100 WRN pairs).

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, s_feats: Sequence[torch.Tensor],
                t_feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Weighted HCL of the fused student features and the teacher's.

        Args:
            s_feats (Sequence[torch.Tensor]): See :func:`hcl_loss`.
            t_feats (Sequence[torch.Tensor]): See :func:`hcl_loss`; no
                gradient flows into them.

        Returns:
            torch.Tensor: Scalar loss.
        """
        return self.loss_weight * hcl_loss(s_feats,
                                           [t.detach() for t in t_feats])
