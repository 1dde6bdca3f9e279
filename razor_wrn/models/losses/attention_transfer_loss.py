"""Activation-based attention transfer.

Zagoruyko & Komodakis, "Paying More Attention to Attention: Improving the
Performance of Convolutional Neural Networks via Attention Transfer",
ICLR 2017, https://arxiv.org/abs/1612.03928. Reference implementation:
``at`` / ``at_loss`` in https://github.com/szagoruyko/attention-transfer
(``cifar.py``).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.registry import MODELS


def attention_map(feature: torch.Tensor, p: float = 2.0) -> torch.Tensor:
    """Spatial attention map: channel mean of |feature|^p, L2-normalised.

    Args:
        feature (torch.Tensor): Feature map, shape (N, C, H, W).
        p (float): Exponent applied to the absolute activations.
            Defaults to 2.0.

    Returns:
        torch.Tensor: Attention maps, shape (N, H * W), each row of unit
        L2 norm (rows that are all zero stay zero).
    """
    energy = feature.abs().pow(p).mean(dim=1)
    return F.normalize(energy.flatten(1), p=2.0, dim=1)


def attention_transfer_loss(s_feature: torch.Tensor,
                            t_feature: torch.Tensor,
                            p: float = 2.0) -> torch.Tensor:
    """Mean squared difference between student and teacher attention maps.

    Reduction: the mean over all N * H * W entries of
    ``(attention_map(s) - attention_map(t)) ** 2``, exactly as the reference
    ``at_loss`` and mmrazor's ``ATLoss``. This is the per-sample squared L2
    distance between the normalised maps, averaged over the batch and then
    divided by H * W. The paper sets beta = 1000 "divided by number of
    elements in attention map and batch size"; keeping that convention keeps
    the published weights (beta = 1000 in the reference code, mmrazor's
    loss_weight) meaningful.

    Args:
        s_feature (torch.Tensor): Student feature, shape (N, C_s, H, W).
        t_feature (torch.Tensor): Teacher feature, shape (N, C_t, H, W).
            Channel counts may differ; batch and spatial sizes must match.
            Detached: no gradient ever reaches the teacher.
        p (float): Exponent of the attention map. Defaults to 2.0.

    Returns:
        torch.Tensor: Scalar loss.
    """
    if s_feature.dim() != 4 or t_feature.dim() != 4:
        raise ValueError('attention_transfer_loss expects (N, C, H, W) '
                         f'features, got {tuple(s_feature.shape)} and '
                         f'{tuple(t_feature.shape)}.')
    s_size = (s_feature.shape[0], *s_feature.shape[2:])
    t_size = (t_feature.shape[0], *t_feature.shape[2:])
    if s_size != t_size:
        # Silently pooling one side (as some re-implementations do) changes
        # what is transferred; the caller must pick matching stages.
        raise ValueError('attention_transfer_loss needs equal batch and '
                         'spatial sizes (N, H, W), got student '
                         f'{tuple(s_feature.shape)} and teacher '
                         f'{tuple(t_feature.shape)}.')
    diff = attention_map(s_feature, p) - attention_map(t_feature.detach(), p)
    return diff.pow(2).mean()


@MODELS.register_module()
class AttentionTransferLoss(nn.Module):
    """Module wrapper of :func:`attention_transfer_loss`.

    With the defaults it equals mmrazor's ``ATLoss``.

    Args:
        p (float): Exponent of the attention map. Defaults to 2.0.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self, p: float = 2.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.p = p
        self.loss_weight = loss_weight

    def forward(self, s_feature: torch.Tensor,
                t_feature: torch.Tensor) -> torch.Tensor:
        """Weighted attention transfer loss.

        Args:
            s_feature (torch.Tensor): Student feature, shape (N, C_s, H, W).
            t_feature (torch.Tensor): Teacher feature, shape (N, C_t, H, W).

        Returns:
            torch.Tensor: Scalar loss.
        """
        return self.loss_weight * attention_transfer_loss(
            s_feature, t_feature, self.p)
