"""Tests of the FitNets feature MSE loss."""
import itertools

import pytest
import torch

import razor_wrn  # noqa: F401  (compat shim before mmrazor)
from mmrazor.models.losses import L2Loss
from razor_wrn.models.losses import FeatureMSELoss, feature_mse_loss


def _features():
    student = torch.linspace(-1.0, 2.0, 2 * 3 * 2 * 2).view(2, 3, 2, 2)
    teacher = torch.sin(torch.arange(24, dtype=torch.float32)).view(2, 3, 2, 2)
    return student, teacher


def _hand_mse(student: torch.Tensor, teacher: torch.Tensor) -> float:
    total, count = 0.0, 0
    for index in itertools.product(*(range(d) for d in student.shape)):
        total += (student[index].item() - teacher[index].item())**2
        count += 1
    return total / count


def test_matches_hand_formula():
    student, teacher = _features()
    torch.testing.assert_close(
        feature_mse_loss(student, teacher),
        torch.tensor(_hand_mse(student, teacher)))


def test_equals_mmrazor_unnormalised_l2loss_per_element():
    generator = torch.Generator().manual_seed(0)
    student = torch.randn(4, 8, 3, 3, generator=generator)
    teacher = torch.randn(4, 8, 3, 3, generator=generator)
    peer = L2Loss(loss_weight=10.0, normalize=False, div_element=True)
    torch.testing.assert_close(
        FeatureMSELoss(loss_weight=10.0)(student, teacher),
        peer(student, teacher))


def test_student_gradient_matches_analytic_formula():
    student, teacher = _features()
    student.requires_grad_()
    FeatureMSELoss()(student, teacher).backward()
    expected = 2 * (student.detach() - teacher) / student.numel()
    torch.testing.assert_close(student.grad, expected)


@pytest.mark.parametrize(
    'shape_s, shape_t',
    [
        ((2, 4, 3, 3), (2, 8, 3, 3)),  # connector missing
        ((2, 4, 3, 3), (1, 4, 3, 3)),  # would broadcast in F.mse_loss
    ])
def test_bad_shapes_raise(shape_s, shape_t):
    with pytest.raises(ValueError, match='same shape'):
        feature_mse_loss(torch.zeros(shape_s), torch.zeros(shape_t))
