import pytest
import torch
from mmpretrain.models import ImageClassifier

import razor_wrn  # noqa: F401
from mmrazor.models import WideResNet as MMRazorWideResNet
from razor_wrn.models.backbones import WideResNet


def _randomise(model: torch.nn.Module, seed: int = 0) -> None:
    """Non-trivial weights and BN statistics, so equality means something."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.dtype.is_floating_point:
                values = torch.rand(tensor.shape, generator=generator)
                # Keep running_var positive.
                tensor.copy_(values + 0.5 if 'running_var' in name else
                             values - 0.5)


def _classifier(depth: int, widen_factor: int) -> ImageClassifier:
    return ImageClassifier(
        backbone=dict(type='WideResNet', depth=depth,
                      widen_factor=widen_factor),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10,
                  in_channels=64 * widen_factor))


@pytest.mark.parametrize('depth,widen_factor,params', [
    (16, 2, 691_674),
    (22, 4, 4_298_970),
    (28, 4, 5_849_050),
    (40, 2, 2_243_546),
])
def test_classifier_parameter_counts(depth, widen_factor, params):
    model = _classifier(depth, widen_factor)
    assert sum(p.numel() for p in model.parameters()) == params


@pytest.mark.parametrize('depth,widen_factor', [(10, 1), (16, 2), (22, 1)])
def test_state_dict_and_outputs_match_mmrazor(depth, widen_factor):
    ours = WideResNet(depth, widen_factor)
    theirs = MMRazorWideResNet(depth, widen_factor)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()}
    _randomise(theirs)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 3, 32, 32)
    for mode in ('eval', 'train'):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        torch.testing.assert_close(ours(x)[0], theirs(x)[0],
                                   rtol=0, atol=0)


@pytest.mark.parametrize('depth', [0, 4, 12, 15, 17])
def test_depth_must_be_6n_plus_4(depth):
    with pytest.raises(ValueError, match='6n\\+4'):
        WideResNet(depth)


def test_stage_shapes_and_out_indices():
    model = WideResNet(10, 2, out_indices=(0, 1, 2)).eval()
    outs = model(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [
        (2, 32, 32, 32), (2, 64, 16, 16), (2, 128, 8, 8)]
    assert model.stage_channels == (32, 64, 128)
    # Only the last stage passes through the final BN + ReLU.
    assert (outs[2] >= 0).all() and (outs[0] < 0).any()
    only_first = WideResNet(10, 2, out_indices=(0, )).eval()
    only_first.load_state_dict(model.state_dict())
    torch.testing.assert_close(
        only_first(torch.ones(1, 3, 32, 32))[0],
        model(torch.ones(1, 3, 32, 32))[0])


def test_droprate_applies_dropout_in_training_only():
    torch.manual_seed(0)
    model = WideResNet(10, 1, droprate=0.5)
    x = torch.randn(2, 3, 32, 32)
    model.train()
    # BN in train mode is deterministic for a fixed batch; dropout is not.
    assert not torch.equal(model(x)[0], model(x)[0])
    model.eval()
    assert torch.equal(model(x)[0], model(x)[0])
    no_drop = WideResNet(10, 1).train()
    assert torch.equal(no_drop(x)[0], no_drop(x)[0])


def test_norm_eval_keeps_running_stats():
    model = WideResNet(10, 1, norm_eval=True)
    model.train()
    before = model.layer1[0].bn1.running_mean.clone()
    model(torch.randn(2, 3, 32, 32) + 3)
    assert torch.equal(model.layer1[0].bn1.running_mean, before)
    assert model.training and not model.layer1[0].bn1.training


@pytest.mark.parametrize('frozen_stages', [0, 1, 2, 3])
def test_frozen_stages_get_no_gradient(frozen_stages):
    model = WideResNet(10, 1, frozen_stages=frozen_stages)
    model.train()
    frozen = ['conv1'] + [f'layer{i}' for i in range(1, frozen_stages + 1)]
    if frozen_stages == 3:
        frozen.append('bn1')
    for name, param in model.named_parameters():
        assert param.requires_grad != name.startswith(tuple(
            f + '.' for f in frozen)), name
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            assert module.training != name.startswith(tuple(frozen)), name
    if frozen_stages < 3:
        model(torch.randn(2, 3, 32, 32))[0].sum().backward()
        assert model.conv1.weight.grad is None
        assert model.layer3[0].conv2.weight.grad is not None


def test_bn_outputs_are_not_overwritten_by_relu():
    """OFD records the pre-ReLU BN outputs; an in-place ReLU would clip
    them to >= 0 after they were recorded."""
    model = WideResNet(10, 1).train()
    recorded = []
    model.layer2[0].bn1.register_forward_hook(
        lambda module, args, out: recorded.append(out))
    model(torch.randn(2, 3, 32, 32))
    assert (recorded[0] < 0).any()
