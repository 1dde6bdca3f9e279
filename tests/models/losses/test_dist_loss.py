"""Tests of the DIST loss (Pearson correlation of softened predictions)."""
import numpy as np
import pytest
import torch

import razor_wrn  # noqa: F401  (compat shim before mmrazor)
from mmrazor.models.losses import DISTLoss
from mmrazor.registry import MODELS
from razor_wrn.models.losses import dist_loss

# 3 images x 4 classes: N != C, so swapping the two terms changes the value.
STUDENT = [[1.0, 2.0, 0.5, -1.0], [0.0, -1.0, 3.0, 0.5],
           [2.0, 2.0, -2.0, 1.0]]
TEACHER = [[2.0, 0.0, 1.0, 0.5], [1.0, 1.0, -2.0, 3.0],
           [0.5, 3.0, -1.0, 0.0]]


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    dx, dy = x - x.mean(), y - y.mean()
    return float((dx * dy).sum() / np.sqrt((dx**2).sum() * (dy**2).sum()))


def _hand_dist(student, teacher, beta, gamma, temperature) -> float:
    """Per row and per column of the (N, C) probability tables."""
    def probs(logits):
        e = np.exp(np.asarray(logits, np.float64) / temperature)
        return e / e.sum(axis=1, keepdims=True)
    p_s, p_t = probs(student), probs(teacher)
    inter = 1 - np.mean([_pearson(p_s[i], p_t[i]) for i in range(3)])
    intra = 1 - np.mean([_pearson(p_s[:, c], p_t[:, c]) for c in range(4)])
    return temperature**2 * (beta * inter + gamma * intra)


@pytest.mark.parametrize('beta, gamma, temperature', [(2.0, 2.0, 4.0),
                                                      (1.0, 3.0, 1.0)])
def test_matches_hand_formula_and_mmrazor(beta, gamma, temperature):
    s, t = torch.tensor(STUDENT), torch.tensor(TEACHER)
    expected = _hand_dist(STUDENT, TEACHER, beta, gamma, temperature)
    loss = dist_loss(s.double(), t.double(), beta, gamma, temperature)
    assert loss.item() == pytest.approx(expected, rel=1e-7)
    module = MODELS.build(dict(type='DISTKDLoss', beta=beta, gamma=gamma,
                               temperature=temperature, loss_weight=0.5))
    theirs = DISTLoss(inter_loss_weight=beta, intra_loss_weight=gamma,
                      tau=temperature, loss_weight=0.5)
    torch.testing.assert_close(module(s, t), theirs(s, t))
    assert module(s, t).item() == pytest.approx(0.5 * expected, rel=1e-5)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match=r'\(N, C\) with N, C >= 2'):
        dist_loss(torch.zeros(1, 4), torch.zeros(1, 4))
    with pytest.raises(ValueError, match='same shape'):
        dist_loss(torch.zeros(3, 4), torch.zeros(3, 5))
