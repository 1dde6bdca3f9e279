"""Contracts of every distillation loss, over one table: registered in
mmrazor's MODELS with the ``forward`` names the distiller configs map onto,
scaled exactly by ``loss_weight``, gradient to the student side only. Each
loss's own file checks its values (hand formulas, mmrazor, gradients)."""
import inspect
from typing import Callable, Dict, NamedTuple, Optional, Tuple

import pytest
import torch
import torch.nn.functional as F

import razor_wrn  # noqa: F401  (compat shim before mmrazor)
import razor_wrn.models.losses as losses
from mmengine.structures import BaseDataElement
from mmrazor.registry import MODELS


def _randn(*shapes: Tuple[int, ...]) -> tuple:
    generator = torch.Generator().manual_seed(0)
    return tuple(torch.randn(shape, generator=generator) for shape in shapes)


def _embeddings() -> tuple:
    return (*(F.normalize(x, dim=1) for x in _randn((3, 4), (3, 4))),
            [BaseDataElement(metainfo=dict(sample_idx=i)) for i in (5, 0, 3)])


class Case(NamedTuple):
    """``forward`` starts with the student's and the teacher's input;
    ``function`` is what it wraps (None: compare with loss_weight=1)."""
    name: str
    forward: Tuple[str, ...]
    defaults: Dict[str, float]  # attributes of the default build
    inputs: Callable[[], tuple]  # in ``forward`` order
    function: Optional[Callable[..., torch.Tensor]]
    teacher_detached: bool = True
    build: Dict[str, int] = {}  # arguments beyond the defaults
    # The class of each training image, for a loss that draws by class.
    training_labels: Optional[Tuple[int, ...]] = None


LOGITS, FEATURES = ('preds_S', 'preds_T'), ('s_feature', 't_feature')
CASES = [
    Case('HintonKDLoss', LOGITS, dict(temperature=4.0),
         lambda: _randn((3, 4), (3, 4)), losses.hinton_kd_loss),
    Case('AttentionTransferLoss', FEATURES, dict(p=2.0),
         lambda: _randn((2, 3, 4, 4), (2, 5, 4, 4)),
         losses.attention_transfer_loss),
    Case('DecoupledKDLoss', LOGITS + ('gt_labels', ),
         dict(alpha=1.0, beta=8.0, temperature=4.0),
         lambda: (*_randn((3, 4), (3, 4)), torch.tensor([1, 3, 0])),
         losses.decoupled_kd_loss),
    Case('FeatureMSELoss', FEATURES, {},
         lambda: _randn((2, 3, 4, 4), (2, 3, 4, 4)), losses.feature_mse_loss),
    # A (1, N, C, H, W) tensor iterates as a list of one (N, C, H, W)
    # feature, so it stands for the feature lists HCL compares.
    Case('HCLLoss', ('s_feats', 't_feats'), {},
         lambda: _randn((1, 2, 3, 4, 4), (1, 2, 3, 4, 4)), losses.hcl_loss),
    Case('OFDPartialL2Loss', FEATURES, dict(mul_factor=1000.0),
         lambda: _randn((2, 3, 4, 4), (2, 3, 4, 4)),
         losses.ofd_partial_l2_loss),
    Case('DISTKDLoss', LOGITS, dict(beta=1.0, gamma=1.0, temperature=1.0),
         lambda: _randn((3, 4), (3, 4)), losses.dist_loss),
    # t_feats leaves the teacher's embedding head, which CRD trains
    # (RepDistiller's embed_t), so it must get a gradient.
    Case('ContrastiveRepresentationLoss',
         ('s_feats', 't_feats', 'data_samples'),
         dict(temperature=0.07, momentum=0.5, eps=1e-7), _embeddings, None,
         teacher_detached=False,
         build=dict(num_samples=8, embed_dim=4, num_negatives=4),
         training_labels=(0, 1) * 4),
]
contract = pytest.mark.parametrize('case', CASES, ids=lambda case: case.name)


def _loss(case: Case, inputs: tuple, **kwargs) -> torch.Tensor:
    # One seed for CRD's bank initialisation and negative sampling.
    with torch.random.fork_rng():
        torch.manual_seed(0)
        module = MODELS.build(dict(type=case.name, **case.build, **kwargs))
        if case.training_labels is not None:
            module.bind_training_set(torch.tensor(case.training_labels))
        return module(**dict(zip(case.forward, inputs)))


def test_table_covers_every_loss_module():
    assert {case.name for case in CASES} == {
        name for name in losses.__all__ if name[0].isupper()}


@contract
def test_registered_with_distiller_signature(case):
    module = MODELS.build(dict(type=case.name, **case.build))
    assert type(module) is getattr(losses, case.name)
    for attribute, value in dict(case.defaults, loss_weight=1.0).items():
        assert getattr(module, attribute) == value, attribute
    assert tuple(inspect.signature(module.forward).parameters) == case.forward


@contract
def test_loss_weight_scales_output_exactly(case):
    inputs = case.inputs()
    reference = (_loss(case, inputs) if case.function is None else
                 case.function(*inputs))
    assert torch.isfinite(reference) and reference != 0
    assert torch.equal(_loss(case, inputs, loss_weight=2.5), 2.5 * reference)


@contract
def test_gradient_reaches_student_only(case):
    student, teacher, *rest = case.inputs()
    student.requires_grad_()
    teacher.requires_grad_()
    _loss(case, (student, teacher, *rest)).backward()
    if case.teacher_detached:
        assert teacher.grad is None
    else:
        assert teacher.grad.isfinite().all() and teacher.grad.any()
    assert student.grad.isfinite().all() and student.grad.any()
