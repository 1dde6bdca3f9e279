"""DIST: distillation by the correlation of the softened predictions.

Huang, You, Wang, Qian & Xu, "Knowledge Distillation from A Stronger
Teacher", NeurIPS 2022, https://arxiv.org/abs/2205.10536. Reference
implementation: ``DIST(beta, gamma, tau)`` in
https://github.com/hunto/image_classification_sota
(``lib/models/losses/dist_kd.py``, with its ``tau**2`` factor); mmrazor's
``DISTLoss`` computes the same.
"""
import torch
import torch.nn as nn
from mmrazor.registry import MODELS


def pearson_correlation(a: torch.Tensor, b: torch.Tensor,
                        eps: float = 1e-8) -> torch.Tensor:
    """Pearson correlation of each row of ``a`` with the same row of ``b``.

    Args:
        a (torch.Tensor): Shape (R, L).
        b (torch.Tensor): Shape (R, L).
        eps (float): Added to the product of the norms, so a constant row
            gives a correlation of 0, not NaN. Defaults to 1e-8.

    Returns:
        torch.Tensor: Shape (R,), each in [-1, 1].
    """
    a = a - a.mean(dim=1, keepdim=True)
    b = b - b.mean(dim=1, keepdim=True)
    return (a * b).sum(dim=1) / (a.norm(dim=1) * b.norm(dim=1) + eps)


def dist_loss(preds_S: torch.Tensor,
              preds_T: torch.Tensor,
              beta: float = 1.0,
              gamma: float = 1.0,
              temperature: float = 1.0) -> torch.Tensor:
    """``T^2 * (beta * L_inter + gamma * L_intra)`` on ``softmax(z / T)``.

    ``L_inter = 1 - mean_i rho(p_S[i, :], p_T[i, :])`` matches each image's
    ranking of the classes; ``L_intra = 1 - mean_c rho(p_S[:, c],
    p_T[:, c])`` matches, per class, how the batch's images rank for it
    (``rho``: Pearson correlation). Unlike KL, both ignore shifts and
    scales of the predictions, which a weaker student cannot follow. For
    the same reason nothing bounds the gradient: it grows as 1 / the spread
    of the centred probabilities, so a student whose logits are still
    nearly constant takes a large first step.

    Args:
        preds_S (torch.Tensor): Student logits, shape (N, C), N >= 2.
        preds_T (torch.Tensor): Teacher logits, shape (N, C). Detached: no
            gradient ever reaches the teacher.
        beta (float): Weight of the inter-class term. Defaults to 1.0.
        gamma (float): Weight of the intra-class term. Defaults to 1.0.
        temperature (float): Softmax temperature T. Defaults to 1.0.

    Returns:
        torch.Tensor: Scalar loss.

    Raises:
        ValueError: the logits are not two (N, C) tensors of one shape
            with N >= 2 and C >= 2 (a correlation needs two values).
    """
    if preds_S.dim() != 2 or preds_S.shape != preds_T.shape or min(
            preds_S.shape) < 2:
        raise ValueError('dist_loss expects student and teacher logits of the '
                         'same shape (N, C) with N, C >= 2, got '
                         f'{tuple(preds_S.shape)} and {tuple(preds_T.shape)}.')
    p_s = (preds_S / temperature).softmax(dim=1)
    p_t = (preds_T.detach() / temperature).softmax(dim=1)
    inter = 1 - pearson_correlation(p_s, p_t).mean()
    intra = 1 - pearson_correlation(p_s.t(), p_t.t()).mean()
    return temperature**2 * (beta * inter + gamma * intra)


@MODELS.register_module()
class DISTKDLoss(nn.Module):
    """Module wrapper of :func:`dist_loss`.

    ``DISTLoss(inter_loss_weight=b, intra_loss_weight=g, tau=T)`` of mmrazor
    gives the same value; this one names the arguments as the paper does.

    Args:
        beta (float): Weight of the inter-class term. Defaults to 1.0.
        gamma (float): Weight of the intra-class term. Defaults to 1.0.
        temperature (float): Softmax temperature T. Defaults to 1.0.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 beta: float = 1.0,
                 gamma: float = 1.0,
                 temperature: float = 1.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.beta = beta
        self.gamma = gamma
        self.temperature = temperature
        self.loss_weight = loss_weight

    def forward(self, preds_S: torch.Tensor,
                preds_T: torch.Tensor) -> torch.Tensor:
        """Weighted DIST loss.

        Args:
            preds_S (torch.Tensor): Student logits, shape (N, C).
            preds_T (torch.Tensor): Teacher logits, shape (N, C).

        Returns:
            torch.Tensor: Scalar loss.
        """
        return self.loss_weight * dist_loss(preds_S, preds_T, self.beta,
                                            self.gamma, self.temperature)
