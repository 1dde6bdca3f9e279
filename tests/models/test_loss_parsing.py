"""parse_losses gives mmengine's total, logged values and gradients with
fewer ops."""
import pytest
import torch
from mmengine.model import BaseModel

from razor_wrn.models.loss_parsing import parse_losses


def mmengine_parse(losses):
    return BaseModel.parse_losses(None, losses)


def inputs():
    """Leaves, and loss dicts built from them: scalars as the WRN models
    return them, a vector, a list, a non-loss entry and a 'loss' key."""
    a, b, c = (torch.tensor(v, requires_grad=True)
               for v in (0.7, 1.3, [0.25, 2.0, -1.5]))
    cases = [
        dict(loss=a * 3),
        dict(loss_student=a * 3, loss_kd=b.exp(), loss_at=c.pow(2)),
        dict(loss_x=a * 2, acc=b * 5, loss_list=[c * 2, a + b]),
        dict(loss=a * 1.5, loss_kd=b / 3),
    ]
    return (a, b, c), cases


@pytest.mark.parametrize('case', range(4))
def test_total_logged_values_and_gradients_equal_mmengines(case):
    leaves, cases = inputs()
    ours_total, ours_log = parse_losses(cases[case])
    ours_total.backward()
    ours_grads = [leaf.grad.clone() for leaf in leaves if leaf.grad is not None]

    leaves, cases = inputs()
    theirs_total, theirs_log = mmengine_parse(cases[case])
    theirs_total.backward()
    theirs_grads = [leaf.grad for leaf in leaves if leaf.grad is not None]

    assert torch.equal(ours_total, theirs_total)
    assert list(ours_log) == list(theirs_log)  # same keys, same order
    for key in theirs_log:
        assert torch.equal(ours_log[key], theirs_log[key]), key
    assert len(ours_grads) == len(theirs_grads)
    for ours, theirs in zip(ours_grads, theirs_grads):
        assert torch.equal(ours, theirs)


def test_a_scalar_loss_is_not_averaged_or_added_to_zero():
    a = torch.tensor(0.7, requires_grad=True)
    loss = a * 3
    total, log_vars = parse_losses(dict(loss_student=loss))
    # No op between the model's loss and the optimizer's (mmengine: mean,
    # then 0 + mean).
    assert total is loss and log_vars['loss_student'] is loss
    assert type(mmengine_parse(dict(loss_student=a * 3))[0].grad_fn
                ).__name__ == 'AddBackward0'


def test_what_mmengine_refuses_is_refused():
    with pytest.raises(TypeError, match='loss_x is not a tensor'):
        parse_losses(dict(loss_x=0.5))
    # mmengine's mean() of an integer tensor raises; so does ours.
    with pytest.raises(RuntimeError):
        mmengine_parse(dict(loss_n=torch.tensor(2)))
    with pytest.raises(RuntimeError):
        parse_losses(dict(loss_n=torch.tensor(2)))
    # No loss term: the integer 0, as mmengine's sum() gives.
    total, log_vars = parse_losses(dict(acc=torch.tensor(0.5)))
    assert total == 0 and list(log_vars) == ['loss', 'acc']


def test_the_models_parse_their_losses_so():
    from razor_wrn.models.algorithms.frozen_teacher_distill import \
        FrozenTeacherDistill
    from razor_wrn.models.classifiers.wrn_classifier import WRNClassifier
    for model in (WRNClassifier, FrozenTeacherDistill):
        assert model.parse_losses.__qualname__ == 'LossParsing.parse_losses'
