"""Tests of the CRD loss: the NCE value by hand and against mmrazor's
CRDLoss, negatives of other classes without replacement (RepDistiller's
'exact' mode), the momentum update of the banks and their state_dict round
trip."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import razor_wrn  # noqa: F401  (compat shim before mmrazor)
from mmengine.structures import BaseDataElement
from mmrazor.models.losses import CRDLoss
from mmrazor.registry import MODELS
from razor_wrn.models.losses import (crd_loss, momentum_update,
                                     other_class_negatives)

M, D, K, T = 5, 3, 2, 0.5
torch.manual_seed(0)
S_EMBED = F.normalize(torch.randn(2, D, dtype=torch.float64), dim=1)
T_EMBED = F.normalize(torch.randn(2, D, dtype=torch.float64), dim=1)
BANK_S = F.normalize(torch.randn(M, D, dtype=torch.float64), dim=1)
BANK_T = F.normalize(torch.randn(M, D, dtype=torch.float64), dim=1)
INDICES = torch.tensor([[3, 0, 4], [1, 1, 2]])  # positives 3 and 1
Z = torch.tensor([7.0, 9.0], dtype=torch.float64)
LABELS = torch.tensor([0, 1, 0, 1, 2])  # the class of each bank row


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


def _module(labels=LABELS, **kwargs):
    module = MODELS.build(dict(type='ContrastiveRepresentationLoss',
                               num_samples=len(labels), embed_dim=D,
                               num_negatives=K, temperature=T, **kwargs))
    module.bind_training_set(labels)
    return module


# 12 images of 3 classes (4 each): an anchor of class c has the 8 images of
# the other two classes to draw from.
CLASSES = torch.tensor([0, 1, 2] * 4)


def _pool(label: int) -> set:
    return {i for i, c in enumerate(CLASSES.tolist()) if c != label}


def test_negatives_are_other_classes_without_replacement():
    anchors = torch.tensor([0, 1, 2, 0])
    torch.manual_seed(0)
    # K = the pool: every image of the other classes, each exactly once.
    negatives = other_class_negatives(anchors, CLASSES, 8)
    assert negatives.shape == (4, 8)
    for label, row in zip(anchors.tolist(), negatives.tolist()):
        assert sorted(row) == sorted(_pool(label))
    # K < the pool: distinct images of other classes, each image of the
    # pool drawn in about K / pool = 5/8 of the rows.
    drawn = other_class_negatives(torch.zeros(4000, dtype=torch.long),
                                  CLASSES, 5)
    assert all(len(set(row)) == 5 for row in drawn.tolist())
    counts = torch.bincount(drawn.flatten(), minlength=12)
    assert counts[CLASSES == 0].sum() == 0
    assert counts[CLASSES != 0].float().div(4000).sub(5 / 8).abs().max() < 0.03
    # K > the pool: with replacement, still of other classes only.
    many = other_class_negatives(anchors, CLASSES, 20)
    for label, row in zip(anchors.tolist(), many.tolist()):
        assert set(row) <= _pool(label)
    with pytest.raises(ValueError, match='only one class'):
        other_class_negatives(anchors[:1], torch.zeros(3, dtype=torch.long),
                              2)


def test_module_loss_is_the_exact_mode_loss():
    """Two classes of three images and K = 3: each anchor's negatives are
    exactly the three images of the other class (in some order), so the
    loss is known by hand; uniform draws from all six would not give it."""
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    torch.manual_seed(1)
    bank_s = F.normalize(torch.randn(6, D, dtype=torch.float64), dim=1)
    bank_t = F.normalize(torch.randn(6, D, dtype=torch.float64), dim=1)
    module = MODELS.build(dict(type='ContrastiveRepresentationLoss',
                               num_samples=6, embed_dim=D, num_negatives=3,
                               temperature=T)).double()
    module.bind_training_set(labels)
    module.memory_student.copy_(bank_s)
    module.memory_teacher.copy_(bank_t)
    module.normalizers.copy_(Z)
    samples = [BaseDataElement(metainfo=dict(sample_idx=i)) for i in (1, 4)]
    rows = [[1, 3, 4, 5], [4, 0, 1, 2]]  # positive, then the other class

    def hand(anchors, bank, z):
        total = 0.0
        for v, r in zip(anchors.numpy(), rows):
            p = np.exp(bank.numpy()[r] @ v / T) / z
            h = p / (p + 3 / 6)
            total += np.log(h[0]) + np.log(1 - h[1:]).sum()
        return -total / 2

    expected = hand(S_EMBED, bank_t, 7.0) + hand(T_EMBED, bank_s, 9.0)
    module.train()
    assert module(S_EMBED, T_EMBED, samples).item() == pytest.approx(
        expected, rel=1e-6)


def test_bank_rows_must_match_the_training_set():
    module = MODELS.build(dict(type='ContrastiveRepresentationLoss',
                               num_samples=50000, embed_dim=D))
    with pytest.raises(ValueError, match=(
            r'training set has 5 images but the memory banks have '
            r'num_samples=50000 rows; set model\.distiller\.distill_losses'
            r'\.loss_crd\.num_samples=5')):
        module.bind_training_set(LABELS)
    module.train()
    samples = [BaseDataElement(metainfo=dict(sample_idx=i)) for i in (0, 1)]
    with pytest.raises(ValueError, match='CRDTrainingSetHook'):
        module(S_EMBED.float(), T_EMBED.float(), samples)


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
