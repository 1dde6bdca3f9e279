"""Tests of the CRD loss: the NCE value by hand and against mmrazor's
CRDLoss, the momentum update of the banks and their state_dict round trip."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import razor_wrn  # noqa: F401  (compat shim before mmrazor)
from mmengine.structures import BaseDataElement
from mmrazor.models.losses import CRDLoss
from mmrazor.registry import MODELS
from razor_wrn.models.losses import crd_loss, momentum_update

M, D, K, T = 5, 3, 2, 0.5
torch.manual_seed(0)
S_EMBED = F.normalize(torch.randn(2, D, dtype=torch.float64), dim=1)
T_EMBED = F.normalize(torch.randn(2, D, dtype=torch.float64), dim=1)
BANK_S = F.normalize(torch.randn(M, D, dtype=torch.float64), dim=1)
BANK_T = F.normalize(torch.randn(M, D, dtype=torch.float64), dim=1)
INDICES = torch.tensor([[3, 0, 4], [1, 1, 2]])  # positives 3 and 1
Z = torch.tensor([7.0, 9.0], dtype=torch.float64)


def _hand_nce(anchors, bank, z) -> float:
    """-(log h(pos) + sum log(1 - h(neg))) / N, h = P / (P + K / M)."""
    total = 0.0
    for v, rows in zip(anchors.numpy(), INDICES.numpy()):
        p = np.exp(bank.numpy()[rows] @ v / T) / z
        h = p / (p + K / M)
        total += np.log(h[0]) + np.log(1 - h[1:]).sum()
    return -total / len(anchors)


def test_loss_matches_hand_computation():
    loss = crd_loss(S_EMBED, T_EMBED, BANK_S, BANK_T, INDICES, Z, T, eps=0)
    # Student anchors meet the teacher bank, and the other way round.
    expected = _hand_nce(S_EMBED, BANK_T, 7.0) + _hand_nce(
        T_EMBED, BANK_S, 9.0)
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    swapped = crd_loss(S_EMBED, T_EMBED, BANK_T, BANK_S, INDICES, Z, T, 0)
    assert abs(swapped.item() - expected) > 1e-3


def test_loss_and_update_match_mmrazor():
    theirs = CRDLoss(temperature=T, neg_num=K, sample_n=M, dim_out=D)
    memory = theirs.contrast
    memory.memory_v1 = BANK_S.float().clone()  # updated with student feats
    memory.memory_v2 = BANK_T.float().clone()
    memory.params[2:4] = Z.float()
    samples = [BaseDataElement(sample_idx=row[0], contrast_sample_idxs=row)
               for row in INDICES]
    expected = theirs(S_EMBED.float(), T_EMBED.float(), samples)
    ours = crd_loss(S_EMBED.float(), T_EMBED.float(), BANK_S.float(),
                    BANK_T.float(), INDICES, Z.float(), T)
    torch.testing.assert_close(ours, expected.squeeze())  # theirs is (1,)
    bank = momentum_update(BANK_S.float(), INDICES[:, 0], S_EMBED.float(),
                           0.5)
    torch.testing.assert_close(bank, memory.memory_v1)


def _module(**kwargs):
    return MODELS.build(dict(type='ContrastiveRepresentationLoss',
                             num_samples=M, embed_dim=D, num_negatives=K,
                             temperature=T, **kwargs))


def test_banks_move_with_momentum_in_training_only():
    module = _module()
    before_s = module.memory_student.clone()
    before_t = module.memory_teacher.clone()
    s, t = S_EMBED.float(), T_EMBED.float()
    samples = [BaseDataElement(metainfo=dict(sample_idx=i)) for i in (3, 1)]
    module.eval()
    module(s, t, samples)
    assert torch.equal(module.memory_student, before_s)
    assert (module.normalizers < 0).all()  # Z is set by training only
    module.train()
    module(s, t, samples)
    for bank, old, new in ((module.memory_student, before_s, s),
                           (module.memory_teacher, before_t, t)):
        mixed = 0.5 * old[[3, 1]] + 0.5 * new
        torch.testing.assert_close(bank[[3, 1]],
                                   mixed / mixed.norm(dim=1, keepdim=True))
        assert torch.equal(bank[[0, 2, 4]], old[[0, 2, 4]])
    z = module.normalizers.clone()
    assert (z > 0).all()
    module(s, t, samples)
    assert torch.equal(module.normalizers, z)  # fixed after the first batch


def test_tensor_indices_as_a_device_loader_gives_them():
    module = _module()
    before = module.memory_student.clone()
    samples = [BaseDataElement(metainfo=dict(sample_idx=torch.tensor([i])))
               for i in (2, 0)]
    module(S_EMBED.float(), T_EMBED.float(), samples)
    changed = (module.memory_student != before).any(dim=1)
    assert changed.tolist() == [True, False, True, False, False]


def test_state_dict_round_trip_keeps_banks_and_normalizers():
    trained = _module()
    samples = [BaseDataElement(metainfo=dict(sample_idx=i)) for i in (0, 4)]
    trained(S_EMBED.float(), T_EMBED.float(), samples)
    state = trained.state_dict()
    assert set(state) == {'memory_student', 'memory_teacher', 'normalizers'}
    restored = _module()
    restored.load_state_dict(state)
    for key, value in state.items():
        assert torch.equal(restored.state_dict()[key], value), key
    # The restored Z is used, not re-estimated from the next batch.
    restored(T_EMBED.float(), S_EMBED.float(), samples)
    assert torch.equal(restored.normalizers, state['normalizers'])


def test_missing_or_out_of_range_indices_are_explained():
    module = _module()
    s, t = S_EMBED.float(), T_EMBED.float()
    with pytest.raises(ValueError, match='sample_idx'):
        module(s, t, [BaseDataElement(), BaseDataElement()])
    with pytest.raises(ValueError, match='set num_samples'):
        module(s, t, [BaseDataElement(metainfo=dict(sample_idx=i))
                      for i in (0, M)])
