"""Tests of the Hinton KD loss (razor_wrn.models.losses.hinton_kd_loss)."""
import numpy as np
import pytest
import torch

import razor_wrn  # noqa: F401  (compat shim before mmrazor)
from mmrazor.models.losses import KLDivergence
from razor_wrn.models.losses import HintonKDLoss, hinton_kd_loss

STUDENT = [[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]]
TEACHER = [[2.0, 0.0, 1.0], [1.0, 1.0, -2.0]]


def _softmax(row: np.ndarray) -> np.ndarray:
    e = np.exp(row - row.max())
    return e / e.sum()


def _hand_kd(student, teacher, temperature: float) -> float:
    """T^2 * mean_n sum_c p_t log(p_t / p_s), with explicit loops."""
    total = 0.0
    for s_row, t_row in zip(student, teacher):
        p_s = _softmax(np.asarray(s_row, np.float64) / temperature)
        p_t = _softmax(np.asarray(t_row, np.float64) / temperature)
        total += sum(pt * np.log(pt / ps) for ps, pt in zip(p_s, p_t))
    return temperature**2 * total / len(student)


@pytest.mark.parametrize('temperature', [4.0, 1.0])
def test_matches_hand_formula(temperature):
    loss = hinton_kd_loss(
        torch.tensor(STUDENT), torch.tensor(TEACHER), temperature)
    expected = torch.tensor(
        _hand_kd(STUDENT, TEACHER, temperature), dtype=torch.float32)
    torch.testing.assert_close(loss, expected)


def test_zero_when_student_equals_teacher():
    logits = torch.tensor(STUDENT)
    torch.testing.assert_close(
        hinton_kd_loss(logits, logits.clone()), torch.tensor(0.0))


@pytest.mark.parametrize('temperature', [4.0, 2.0])
def test_equals_mmrazor_kldivergence(temperature):
    generator = torch.Generator().manual_seed(0)
    preds_s = torch.randn(8, 10, generator=generator) * 3
    preds_t = torch.randn(8, 10, generator=generator) * 3
    peer = KLDivergence(tau=temperature, reduction='batchmean')
    ours = HintonKDLoss(temperature=temperature)
    torch.testing.assert_close(ours(preds_s, preds_t), peer(preds_s, preds_t))


def test_student_gradient_matches_analytic_formula():
    temperature = 4.0
    preds_s = torch.tensor(STUDENT, requires_grad=True)
    preds_t = torch.tensor(TEACHER)
    HintonKDLoss(temperature=temperature)(preds_s, preds_t).backward()
    # d/ds [T^2 KL] = T * (softmax(s/T) - softmax(t/T)) / N.
    expected = temperature * (
        torch.softmax(preds_s.detach() / temperature, dim=1) -
        torch.softmax(preds_t.detach() / temperature, dim=1)) / 2
    torch.testing.assert_close(preds_s.grad, expected)


@pytest.mark.parametrize('shape_s, shape_t', [((2, 3), (2, 4)),
                                              ((2, 3), (3, 3)),
                                              ((6, ), (6, ))])
def test_bad_shapes_raise(shape_s, shape_t):
    with pytest.raises(ValueError, match='same shape'):
        hinton_kd_loss(torch.zeros(shape_s), torch.zeros(shape_t))
