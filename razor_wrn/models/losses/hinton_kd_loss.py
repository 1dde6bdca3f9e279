"""Hinton knowledge distillation: KL divergence between softened logits.

Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network",
NIPS 2014 Deep Learning Workshop, https://arxiv.org/abs/1503.02531.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.registry import MODELS


def hinton_kd_loss(preds_S: torch.Tensor,
                   preds_T: torch.Tensor,
                   temperature: float = 4.0) -> torch.Tensor:
    """KL(softmax(preds_T / T) || softmax(preds_S / T)) * T^2, batch mean.

    The T^2 factor keeps the gradient magnitude independent of T (the
    gradient of the softened KL scales as 1/T^2), as in the paper.

    Args:
        preds_S (torch.Tensor): Student logits, shape (N, C).
        preds_T (torch.Tensor): Teacher logits, shape (N, C). Detached: no
            gradient ever reaches the teacher.
        temperature (float): Softmax temperature T. Defaults to 4.0.

    Returns:
        torch.Tensor: Scalar loss, summed over classes and averaged over
        the batch (``reduction='batchmean'``).
    """
    if preds_S.dim() != 2 or preds_S.shape != preds_T.shape:
        raise ValueError('hinton_kd_loss expects student and teacher logits '
                         'of the same shape (N, C), got '
                         f'{tuple(preds_S.shape)} and {tuple(preds_T.shape)}.')
    log_p_s = F.log_softmax(preds_S / temperature, dim=1)
    # Passing the teacher in log space avoids log(0) when a teacher
    # probability underflows; the value equals the probability-space KL.
    log_p_t = F.log_softmax(preds_T.detach() / temperature, dim=1)
    kl = F.kl_div(log_p_s, log_p_t, reduction='batchmean', log_target=True)
    return kl * temperature**2


@MODELS.register_module()
class HintonKDLoss(nn.Module):
    """Module wrapper of :func:`hinton_kd_loss`.

    Equals mmrazor's ``KLDivergence(tau=T, reduction='batchmean')``.

    Args:
        temperature (float): Softmax temperature T. Defaults to 4.0.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 temperature: float = 4.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.temperature = temperature
        self.loss_weight = loss_weight

    def forward(self, preds_S: torch.Tensor,
                preds_T: torch.Tensor) -> torch.Tensor:
        """Weighted Hinton KD loss.

        Args:
            preds_S (torch.Tensor): Student logits, shape (N, C).
            preds_T (torch.Tensor): Teacher logits, shape (N, C).

        Returns:
            torch.Tensor: Scalar loss.
        """
        return self.loss_weight * hinton_kd_loss(preds_S, preds_T,
                                                 self.temperature)
