"""Tests of the decoupled KD loss (DKD)."""
import inspect
import math

import numpy as np
import pytest
import torch

import razor_wrn  # noqa: F401  (compat shim before mmrazor)
from mmrazor.models.losses import DKDLoss
from razor_wrn.models.losses import (DecoupledKDLoss, decoupled_kd_loss,
                                     hinton_kd_loss)

STUDENT = [[1.0, 2.0, 0.5, -1.0], [0.0, -1.0, 3.0, 0.5],
           [2.0, 2.0, -2.0, 1.0]]
TEACHER = [[2.0, 0.0, 1.0, 0.5], [1.0, 1.0, -2.0, 3.0],
           [0.5, 3.0, -1.0, 0.0]]
LABELS = [1, 2, 0]

# mmrazor's DKDLoss passes the legacy ``size_average`` to F.kl_div.
IGNORE_SIZE_AVERAGE = pytest.mark.filterwarnings(
    'ignore:size_average and reduce args will be deprecated')


def _softmax(row: np.ndarray) -> np.ndarray:
    e = np.exp(row - row.max())
    return e / e.sum()


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    return float(np.sum(p * np.log(p / q)))


def _hand_dkd(student, teacher, labels, alpha, beta, temperature) -> float:
    """Per sample, in probability space, then T^2 * batch mean.

    TCKD = KL([p_gt, 1 - p_gt]); NCKD = KL(softmax over the other logits).
    """
    total = 0.0
    for s_row, t_row, label in zip(student, teacher, labels):
        s = np.asarray(s_row, np.float64) / temperature
        t = np.asarray(t_row, np.float64) / temperature
        p_s, p_t = _softmax(s), _softmax(t)
        b_s = np.array([p_s[label], 1 - p_s[label]])
        b_t = np.array([p_t[label], 1 - p_t[label]])
        others = [c for c in range(len(s)) if c != label]
        total += alpha * _kl(b_t, b_s) + beta * _kl(
            _softmax(t[others]), _softmax(s[others]))
    return temperature**2 * total / len(student)


@pytest.mark.parametrize('alpha, beta, temperature', [(1.0, 8.0, 4.0),
                                                      (0.5, 2.0, 1.0)])
def test_matches_hand_formula(alpha, beta, temperature):
    loss = decoupled_kd_loss(
        torch.tensor(STUDENT), torch.tensor(TEACHER), torch.tensor(LABELS),
        alpha, beta, temperature)
    expected = _hand_dkd(STUDENT, TEACHER, LABELS, alpha, beta, temperature)
    torch.testing.assert_close(loss, torch.tensor(expected,
                                                  dtype=torch.float32))


def test_reduces_to_hinton_kd_for_one_sample():
    # Paper, eq. (4): KD = TCKD + (1 - p_gt of the teacher) * NCKD.
    temperature = 4.0
    preds_s, preds_t = torch.tensor(STUDENT[:1]), torch.tensor(TEACHER[:1])
    label = LABELS[0]
    p_gt = torch.softmax(preds_t / temperature, dim=1)[0, label].item()
    dkd = decoupled_kd_loss(
        preds_s, preds_t, torch.tensor([label]), alpha=1.0, beta=1 - p_gt,
        temperature=temperature)
    torch.testing.assert_close(dkd,
                               hinton_kd_loss(preds_s, preds_t, temperature))


@IGNORE_SIZE_AVERAGE
@pytest.mark.parametrize('reduction, batch_factor', [('batchmean', 1),
                                                     ('mean', 8), ('sum', 8),
                                                     ('none', 8)])
def test_equals_mmrazor_dkdloss_only_for_batchmean(reduction, batch_factor):
    # mmrazor's DKDLoss calls F.kl_div(..., size_average=False,
    # reduction=...): the legacy argument forces a sum, and only
    # 'batchmean' still divides by N afterwards. Any other ``reduction``
    # (its ImageNet config uses 'mean') silently gives N times the loss.
    generator = torch.Generator().manual_seed(0)
    preds_s = torch.randn(8, 10, generator=generator) * 3
    preds_t = torch.randn(8, 10, generator=generator) * 3
    labels = torch.randint(0, 10, (8, ), generator=generator)
    peer = DKDLoss(tau=4.0, alpha=1.0, beta=8.0, reduction=reduction)
    torch.testing.assert_close(
        peer(preds_s, preds_t, labels),
        batch_factor * DecoupledKDLoss()(preds_s, preds_t, labels))


@IGNORE_SIZE_AVERAGE
def test_confident_logits_stay_finite_and_exact():
    # Target logit / T = 5000 above the others. Then TCKD ~ exp(-5000) = 0
    # and NCKD only sees the non-target logits: student (0, 0) gives
    # (1/2, 1/2), teacher (0, 4 ln 3) / T gives (1/4, 3/4).
    preds_s = torch.tensor([[20000.0, 0.0, 0.0]], requires_grad=True)
    preds_t = torch.tensor([[20000.0, 0.0, 4 * math.log(3.0)]])
    labels = torch.tensor([0])
    nckd = 0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5)
    loss = DecoupledKDLoss()(preds_s, preds_t, labels)
    torch.testing.assert_close(loss, torch.tensor(8.0 * 16.0 * nckd))
    loss.backward()
    assert torch.isfinite(preds_s.grad).all()
    # The subtract-1000 masking turns the same inputs into NaN (log of an
    # underflowed non-target mass), which is what this test guards against.
    peer = DKDLoss(tau=4.0, alpha=1.0, beta=8.0)
    assert not torch.isfinite(peer(preds_s, preds_t, labels))


def test_gradient_matches_finite_differences():
    preds_s = torch.tensor(STUDENT, dtype=torch.float64, requires_grad=True)
    preds_t = torch.tensor(TEACHER, dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda s: decoupled_kd_loss(s, preds_t, torch.tensor(LABELS)),
        (preds_s, ))


@pytest.mark.parametrize('shape_s, shape_t', [((3, 4), (3, 5)),
                                              ((4, ), (4, ))])
def test_bad_logit_shapes_raise(shape_s, shape_t):
    with pytest.raises(ValueError, match='same shape'):
        decoupled_kd_loss(
            torch.zeros(shape_s), torch.zeros(shape_t), torch.tensor(LABELS))


def test_single_class_raises():
    with pytest.raises(ValueError, match='at least 2 classes'):
        decoupled_kd_loss(torch.zeros(3, 1), torch.zeros(3, 1),
                          torch.zeros(3, dtype=torch.long))


@pytest.mark.parametrize('labels', [
    torch.tensor([1, 2]),
    torch.zeros(3, 4),  # soft labels from mixup / cutmix
])
def test_bad_labels_raise(labels):
    with pytest.raises(ValueError, match='integer class indices'):
        decoupled_kd_loss(torch.zeros(3, 4), torch.zeros(3, 4), labels)


def test_forward_names_equal_mmrazor_dkdloss():
    # Same names as mmrazor's DKDLoss, so its loss_forward_mappings apply.
    assert list(inspect.signature(DecoupledKDLoss.forward).parameters) == list(
        inspect.signature(DKDLoss.forward).parameters)
