"""Partial L2 distance of overhaul feature distillation (OFD).

Heo, Kim, Yun, Park, Kwak & Choi, "A Comprehensive Overhaul of Feature
Distillation", ICCV 2019, https://arxiv.org/abs/1904.01866. Reference
implementation: ``distillation_loss`` in
https://github.com/clovaai/overhaul-distillation (``CIFAR-100/distiller.py``
and ``train_with_distillation.py``).
"""
import torch
from mmrazor.models.losses import OFDLoss
from mmrazor.registry import MODELS


def ofd_partial_l2_loss(s_feature: torch.Tensor,
                        t_feature: torch.Tensor,
                        mul_factor: float = 1000.0) -> torch.Tensor:
    """Sum of (s - t)^2 outside ``s <= t <= 0``, / batch size / mul_factor.

    The teacher feature is a pre-ReLU response; where it is negative and the
    student is below it, ReLU maps both to zero, so the position is skipped.
    The teacher's margin clamp ``max(t, margin)`` belongs to the teacher
    connector (mmrazor's ``OFDTeacherConnector``), not to this loss.

    Normalisation: the official CIFAR code computes
    ``loss_distill.sum() / batch_size / 1000`` (ImageNet uses 1e4), and
    mmrazor's ``OFDLoss`` divides by batch size and ``mul_factor=1000``; the
    same default here makes the two equal, so OFD configs carry over.

    Args:
        s_feature (torch.Tensor): Student feature after its connector.
        t_feature (torch.Tensor): Teacher feature, same shape. Detached: no
            gradient ever reaches the teacher.
        mul_factor (float): Divisor applied after the batch mean (named as
            in mmrazor's ``OFDLoss``). Defaults to 1000.0.

    Returns:
        torch.Tensor: Scalar loss.
    """
    if s_feature.dim() < 1 or s_feature.shape != t_feature.shape:
        raise ValueError('ofd_partial_l2_loss expects student and teacher '
                         'features of the same shape, got '
                         f'{tuple(s_feature.shape)} and '
                         f'{tuple(t_feature.shape)}.')
    t_feature = t_feature.detach()
    keep = (s_feature > t_feature) | (t_feature > 0)
    squared = (s_feature - t_feature).pow(2) * keep
    return squared.sum() / s_feature.shape[0] / mul_factor


@MODELS.register_module()
class OFDPartialL2Loss(OFDLoss):
    """Module wrapper of :func:`ofd_partial_l2_loss`.

    With the defaults it equals mmrazor's ``OFDLoss``. It subclasses
    ``OFDLoss`` because mmrazor's ``OFDDistiller`` initialises the teacher
    connectors' margins only for losses of that type.

    Args:
        mul_factor (float): Divisor applied after the batch mean.
            Defaults to 1000.0.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 mul_factor: float = 1000.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight=loss_weight, mul_factor=mul_factor)

    def forward(self, s_feature: torch.Tensor,
                t_feature: torch.Tensor) -> torch.Tensor:
        """Weighted OFD partial L2 loss.

        Args:
            s_feature (torch.Tensor): Student feature after its connector.
            t_feature (torch.Tensor): Teacher feature, same shape.

        Returns:
            torch.Tensor: Scalar loss.
        """
        return self.loss_weight * ofd_partial_l2_loss(s_feature, t_feature,
                                                      self.mul_factor)
