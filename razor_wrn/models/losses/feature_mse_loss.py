"""FitNets hint loss: mean squared error between feature maps.

Romero, Ballas, Kahou, Chassang, Gatta & Bengio, "FitNets: Hints for Thin
Deep Nets", ICLR 2015, https://arxiv.org/abs/1412.6550. The student feature
is expected after its regressor (a connector), so shapes match the teacher.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.registry import MODELS


def feature_mse_loss(s_feature: torch.Tensor,
                     t_feature: torch.Tensor) -> torch.Tensor:
    """Mean over all elements of (s_feature - t_feature)^2.

    The element mean (as mdistiller's FitNet) rather than the paper's
    1/2 * squared norm keeps the scale independent of feature size.

    Args:
        s_feature (torch.Tensor): Student feature after its connector.
        t_feature (torch.Tensor): Teacher feature, same shape. Detached: no
            gradient ever reaches the teacher.

    Returns:
        torch.Tensor: Scalar loss.
    """
    if s_feature.shape != t_feature.shape:
        # F.mse_loss would broadcast and only warn; a mismatch here means a
        # connector is missing or mis-sized.
        raise ValueError('feature_mse_loss expects student and teacher '
                         'features of the same shape, got '
                         f'{tuple(s_feature.shape)} and '
                         f'{tuple(t_feature.shape)}; is the student '
                         'connector configured?')
    return F.mse_loss(s_feature, t_feature.detach(), reduction='mean')


@MODELS.register_module()
class FeatureMSELoss(nn.Module):
    """Module wrapper of :func:`feature_mse_loss`.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, s_feature: torch.Tensor,
                t_feature: torch.Tensor) -> torch.Tensor:
        """Weighted feature MSE loss.

        Args:
            s_feature (torch.Tensor): Student feature after its connector.
            t_feature (torch.Tensor): Teacher feature, same shape.

        Returns:
            torch.Tensor: Scalar loss.
        """
        return self.loss_weight * feature_mse_loss(s_feature, t_feature)
