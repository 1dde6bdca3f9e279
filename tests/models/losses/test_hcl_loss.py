"""ReviewKD's hierarchical context loss against values worked out by hand
(the authors' ``hcl`` and mdistiller's ``hcl_loss`` define it)."""
import pytest
import torch

import razor_wrn  # noqa: F401  (compat shim before mmrazor)
from mmrazor.registry import MODELS
from razor_wrn.models.losses import hcl_loss

# A 4x4 map 0..15 against zeros: MSE 77.5 (mean of k^2); 2x2 pools 2.5,
# 4.5, 10.5, 12.5: MSE 73.25; 1x1 pool 7.5: 56.25. The 4x4 level is not
# used (not smaller than the map): (77.5 + 73.25 / 2 + 56.25 / 4) / 1.75.
MAP_4X4 = torch.arange(16.0).view(1, 1, 4, 4)
LOSS_4X4 = 73.25
# A 2x2 map [[1, 2], [3, 4]] against zeros: MSE 7.5, 1x1 pool 2.5: 6.25;
# (7.5 + 6.25 / 2) / 1.5 = 85 / 12.
MAP_2X2 = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
LOSS_2X2 = 85 / 12


def test_each_pair_by_hand():
    assert hcl_loss([torch.zeros(1, 1, 4, 4)], [MAP_4X4]).item() == \
        pytest.approx(LOSS_4X4, rel=1e-6)
    assert hcl_loss([torch.zeros(1, 1, 2, 2)], [MAP_2X2]).item() == \
        pytest.approx(LOSS_2X2, rel=1e-6)
    # A pooled (N, C) pair is a 1x1 map: its MSE alone.
    assert hcl_loss([torch.zeros(2, 3)], [torch.full((2, 3), 2.0)]).item() \
        == 4.0


def test_an_8x8_pair_uses_every_level():
    fs, ft = torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 8)
    ft[..., :4, :4] = 1.0  # one quadrant: pools 1, 1/4 on the 2x2, 1x1
    mse, mse4, mse2, mse1 = 0.25, 0.25, 0.25, 1 / 16
    expected = (mse + mse4 / 2 + mse2 / 4 + mse1 / 8) / 1.875
    assert hcl_loss([fs], [ft]).item() == pytest.approx(expected, rel=1e-6)


def test_pairs_add_up_and_the_module_weights_them():
    s = [torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 2, 2)]
    t = [MAP_4X4, MAP_2X2]
    assert hcl_loss(s, t).item() == pytest.approx(LOSS_4X4 + LOSS_2X2,
                                                  rel=1e-6)
    module = MODELS.build(dict(type='HCLLoss', loss_weight=5.0))
    assert module(s, t).item() == pytest.approx(
        5 * (LOSS_4X4 + LOSS_2X2), rel=1e-6)


def test_gradient_reaches_the_student_only():
    s = torch.zeros(1, 1, 4, 4, requires_grad=True)
    t = MAP_4X4.clone().requires_grad_()
    MODELS.build(dict(type='HCLLoss'))([s], [t]).backward()
    assert t.grad is None
    assert s.grad.isfinite().all() and (s.grad < 0).all()


def test_mismatched_features_are_refused():
    with pytest.raises(ValueError, match='as many student features'):
        hcl_loss([MAP_4X4], [MAP_4X4, MAP_4X4])
    with pytest.raises(ValueError, match=r'student \(1, 1, 2, 2\) and '
                       r'teacher \(1, 1, 4, 4\) differ'):
        hcl_loss([MAP_2X2], [MAP_4X4])
