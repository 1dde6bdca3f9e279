"""Tests of the OFD partial L2 loss."""
import itertools

import pytest
import torch

import razor_wrn  # noqa: F401  (compat shim before mmrazor)
from mmrazor.models.losses import OFDLoss
from razor_wrn.models.losses import OFDPartialL2Loss, ofd_partial_l2_loss


def _hand_ofd(student: torch.Tensor, teacher: torch.Tensor,
              mul_factor: float) -> float:
    """Loop over elements; skip those with s <= t <= 0 (paper, eq. 5)."""
    total = 0.0
    for index in itertools.product(*(range(d) for d in student.shape)):
        s, t = student[index].item(), teacher[index].item()
        if not (s <= t and t <= 0):
            total += (s - t)**2
    return total / student.shape[0] / mul_factor


def _random_pair():
    generator = torch.Generator().manual_seed(0)
    student = torch.randn(4, 8, 3, 3, generator=generator)
    teacher = torch.randn(4, 8, 3, 3, generator=generator)
    return student, teacher


def test_hand_computed_cases():
    # (s, t) -> kept?:  (1, 0) yes 1;  (-2, -1) no;  (0.5, 2) yes 2.25;
    # (-1, -1.5) yes 0.25;  (-3, 0) no.  Sum 3.5, N = 1, / 1000.
    student = torch.tensor([[1.0, -2.0, 0.5, -1.0, -3.0]])
    teacher = torch.tensor([[0.0, -1.0, 2.0, -1.5, 0.0]])
    torch.testing.assert_close(
        ofd_partial_l2_loss(student, teacher), torch.tensor(0.0035))


@pytest.mark.parametrize('mul_factor', [1000.0, 1.0])
def test_matches_hand_formula(mul_factor):
    student, teacher = _random_pair()
    torch.testing.assert_close(
        ofd_partial_l2_loss(student, teacher, mul_factor),
        torch.tensor(_hand_ofd(student, teacher, mul_factor)))


@pytest.mark.parametrize('loss_weight', [1.0, 0.25])
def test_equals_mmrazor_ofdloss(loss_weight):
    student, teacher = _random_pair()
    torch.testing.assert_close(
        OFDPartialL2Loss(loss_weight=loss_weight)(student, teacher),
        OFDLoss(loss_weight=loss_weight)(student, teacher))


def test_student_gradient_matches_analytic_formula():
    student, teacher = _random_pair()
    student.requires_grad_()
    OFDPartialL2Loss()(student, teacher).backward()
    s, t = student.detach(), teacher
    keep = ((s > t) | (t > 0)).float()
    torch.testing.assert_close(student.grad, 2 * (s - t) * keep / 4 / 1000)


@pytest.mark.parametrize('shape_s, shape_t', [((2, 4, 3, 3), (2, 8, 3, 3)),
                                              ((2, 4, 3, 3), (1, 4, 3, 3))])
def test_bad_shapes_raise(shape_s, shape_t):
    with pytest.raises(ValueError, match='same shape'):
        ofd_partial_l2_loss(torch.zeros(shape_s), torch.zeros(shape_t))
