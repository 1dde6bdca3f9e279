"""Tests of the attention transfer loss."""
import numpy as np
import pytest
import torch

import razor_wrn  # noqa: F401  (compat shim before mmrazor)
from mmrazor.models.losses import ATLoss
from razor_wrn.models.losses import (AttentionTransferLoss,
                                     attention_transfer_loss)


def _features():
    """Small fixed features: student (2, 3, 2, 2), teacher (2, 5, 2, 2)."""
    student = (torch.arange(24, dtype=torch.float32) - 11.5).div(4)
    teacher = torch.cos(torch.arange(40, dtype=torch.float32))
    return student.view(2, 3, 2, 2), teacher.view(2, 5, 2, 2)


def _hand_at(student: np.ndarray, teacher: np.ndarray, p: float) -> float:
    """Sum over samples and positions of (q_s - q_t)^2, / (N * H * W).

    q = a / ||a||_2 with a[h, w] = mean_c |f[c, h, w]|^p, built by loops.
    """
    n, _, h, w = student.shape
    total = 0.0
    for i in range(n):
        maps = []
        for feat in (student[i], teacher[i]):
            a = np.zeros(h * w)
            for y in range(h):
                for x in range(w):
                    a[y * w + x] = np.mean(np.abs(feat[:, y, x])**p)
            maps.append(a / np.sqrt(np.sum(a**2)))
        total += np.sum((maps[0] - maps[1])**2)
    return total / (n * h * w)


@pytest.mark.parametrize('p', [2.0, 1.0])
def test_matches_hand_formula(p):
    student, teacher = _features()
    expected = _hand_at(student.double().numpy(), teacher.double().numpy(), p)
    torch.testing.assert_close(
        attention_transfer_loss(student, teacher, p),
        torch.tensor(expected, dtype=torch.float32))


def test_batchmean_distance_relationship():
    # Documented reduction: H * W * loss is the batch mean of the squared L2
    # distance between the normalised maps.
    student, teacher = _features()
    q_s = torch.nn.functional.normalize(student.pow(2).mean(1).flatten(1))
    q_t = torch.nn.functional.normalize(teacher.pow(2).mean(1).flatten(1))
    batchmean = (q_s - q_t).pow(2).sum(1).mean()
    torch.testing.assert_close(
        attention_transfer_loss(student, teacher) * 4, batchmean)


def test_equals_mmrazor_atloss():
    generator = torch.Generator().manual_seed(0)
    student = torch.randn(4, 8, 5, 5, generator=generator)
    teacher = torch.randn(4, 16, 5, 5, generator=generator)
    torch.testing.assert_close(
        AttentionTransferLoss(loss_weight=250.0)(student, teacher),
        ATLoss(loss_weight=250.0)(student, teacher))


def test_invariant_to_feature_scale():
    # Maps are L2-normalised, so only the spatial pattern is transferred.
    student, teacher = _features()
    torch.testing.assert_close(
        attention_transfer_loss(student, 7.0 * teacher),
        attention_transfer_loss(student, teacher))


def test_gradient_matches_finite_differences():
    student, teacher = _features()
    assert torch.autograd.gradcheck(
        lambda s: attention_transfer_loss(s, teacher.double()),
        (student.double().requires_grad_(), ))


@pytest.mark.parametrize('shape_s, shape_t', [((2, 3, 4, 4), (2, 3, 2, 2)),
                                              ((2, 3, 4, 4), (2, 3, 4, 2)),
                                              ((2, 3, 4, 4), (3, 3, 4, 4))])
def test_mismatched_sizes_raise(shape_s, shape_t):
    with pytest.raises(ValueError, match=r'spatial sizes \(N, H, W\)'):
        attention_transfer_loss(torch.ones(shape_s), torch.ones(shape_t))


def test_non_4d_features_raise():
    with pytest.raises(ValueError, match=r'\(N, C, H, W\)'):
        attention_transfer_loss(torch.ones(2, 3, 4), torch.ones(2, 3, 4))
