"""Decoupled knowledge distillation (DKD).

Zhao, Cui, Song, Qiu & Liang, "Decoupled Knowledge Distillation", CVPR 2022,
https://arxiv.org/abs/2203.08679. Reference implementation: ``dkd_loss`` in
https://github.com/megvii-research/mdistiller (``distillers/DKD.py``).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.registry import MODELS


def decoupled_kd_loss(preds_S: torch.Tensor,
                      preds_T: torch.Tensor,
                      gt_labels: torch.Tensor,
                      alpha: float = 1.0,
                      beta: float = 8.0,
                      temperature: float = 4.0) -> torch.Tensor:
    """alpha * TCKD + beta * NCKD, each a T^2-scaled, batch-mean KL.

    TCKD is the KL between the binary (target, non-target) distributions
    ``[p_gt, 1 - p_gt]`` of teacher and student; NCKD is the KL between the
    distributions over the C - 1 non-target classes (softmax restricted to
    them). Both use logits / T.

    Everything is computed in log space, and the target logit is dropped
    from the NCKD softmax rather than pushed down by subtracting 1000 (as
    mdistiller and mmrazor do): with that trick ``torch.log`` of an
    underflowed non-target mass gives -inf and the loss turns inf/NaN for
    confident logits, and a target logit that exceeds the others by more
    than about 1000 * T still dominates the "non-target" softmax.

    Args:
        preds_S (torch.Tensor): Student logits, shape (N, C), C >= 2.
        preds_T (torch.Tensor): Teacher logits, shape (N, C). Detached: no
            gradient ever reaches the teacher.
        gt_labels (torch.Tensor): Integer class indices, N elements (shape
            (N,) as mmpretrain's ``ClsHead`` passes them to its loss
            module). Soft (mixup / cutmix) labels are not supported.
        alpha (float): Weight of TCKD. Defaults to 1.0.
        beta (float): Weight of NCKD. Defaults to 8.0.
        temperature (float): Softmax temperature T. Defaults to 4.0.

    Returns:
        torch.Tensor: Scalar loss, averaged over the batch.
    """
    if preds_S.dim() != 2 or preds_S.shape != preds_T.shape:
        raise ValueError('decoupled_kd_loss expects student and teacher '
                         'logits of the same shape (N, C), got '
                         f'{tuple(preds_S.shape)} and {tuple(preds_T.shape)}.')
    num_samples, num_classes = preds_S.shape
    if num_classes < 2:
        raise ValueError('decoupled_kd_loss needs at least 2 classes, got '
                         f'{num_classes}.')
    if gt_labels.is_floating_point() or gt_labels.numel() != num_samples:
        raise ValueError('decoupled_kd_loss expects N integer class indices, '
                         f'got a {gt_labels.dtype} tensor of shape '
                         f'{tuple(gt_labels.shape)} for N = {num_samples}.')
    labels = gt_labels.reshape(num_samples, 1).long()
    # Column j of the non-target logits is class j, or j + 1 from the
    # target on: a gather, where indexing by a boolean mask would read the
    # mask's count back to the host (a GPU sync, and no CUDA graph).
    non_gt = torch.arange(num_classes - 1, device=labels.device).expand(
        num_samples, num_classes - 1)
    non_gt = non_gt + (non_gt >= labels).long()

    tckd_s, nckd_s = _split_log_probs(preds_S / temperature, labels, non_gt)
    tckd_t, nckd_t = _split_log_probs(preds_T.detach() / temperature, labels,
                                      non_gt)
    tckd = F.kl_div(tckd_s, tckd_t, reduction='batchmean', log_target=True)
    nckd = F.kl_div(nckd_s, nckd_t, reduction='batchmean', log_target=True)
    return (alpha * tckd + beta * nckd) * temperature**2


def _split_log_probs(
        logits: torch.Tensor, labels: torch.Tensor,
        non_gt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Binary (target, non-target) and non-target-only log-probabilities.

    Args:
        logits (torch.Tensor): Temperature-scaled logits, shape (N, C).
        labels (torch.Tensor): Class indices, shape (N, 1).
        non_gt (torch.Tensor): Each row's non-target classes in ascending
            order, shape (N, C - 1).

    Returns:
        tuple[torch.Tensor, torch.Tensor]: ``log [p_gt, 1 - p_gt]`` of shape
        (N, 2) and the log-softmax over the C - 1 non-target logits.
    """
    # Dropping the target column (not masking it with -1000 or -inf) keeps
    # every entry finite and the softmax exactly over the other classes;
    # working from the logits, not from log p, keeps float32 precision.
    others = logits.gather(1, non_gt)
    log_total = logits.logsumexp(dim=1, keepdim=True)
    # logsumexp(others) - log_total is log(1 - p_gt) without the
    # cancellation to log(0) that 1 - p_gt suffers when p_gt rounds to 1.
    log_binary = torch.cat([
        logits.gather(1, labels) - log_total,
        others.logsumexp(dim=1, keepdim=True) - log_total
    ], dim=1)
    return log_binary, F.log_softmax(others, dim=1)


@MODELS.register_module()
class DecoupledKDLoss(nn.Module):
    """Module wrapper of :func:`decoupled_kd_loss`.

    ``forward(preds_S, preds_T, gt_labels)`` has the same argument names as
    mmrazor's ``DKDLoss``, so its distiller configs map onto it unchanged
    (``gt_labels`` recorded as input 1 of the student's
    ``head.loss_module``). It always averages over the batch, as the paper's
    code does; ``DKDLoss(tau=4, beta=8)`` matches it only with its default
    ``reduction='batchmean'`` and sums over the batch for any other value.

    Args:
        alpha (float): Weight of TCKD. Defaults to 1.0.
        beta (float): Weight of NCKD. Defaults to 8.0.
        temperature (float): Softmax temperature T. Defaults to 4.0.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 alpha: float = 1.0,
                 beta: float = 8.0,
                 temperature: float = 4.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha
        self.beta = beta
        self.temperature = temperature
        self.loss_weight = loss_weight

    def forward(self, preds_S: torch.Tensor, preds_T: torch.Tensor,
                gt_labels: torch.Tensor) -> torch.Tensor:
        """Weighted DKD loss.

        Args:
            preds_S (torch.Tensor): Student logits, shape (N, C).
            preds_T (torch.Tensor): Teacher logits, shape (N, C).
            gt_labels (torch.Tensor): Integer class indices, shape (N,).

        Returns:
            torch.Tensor: Scalar loss.
        """
        return self.loss_weight * decoupled_kd_loss(
            preds_S, preds_T, gt_labels, self.alpha, self.beta,
            self.temperature)
