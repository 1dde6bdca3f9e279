"""get_flops.py: exact parameter and MAC counts of vanilla and KD configs."""
import pytest
import torch
from mmpretrain.registry import MODELS
from torch import nn

from conftest import load_tool

get_flops = load_tool('analysis_tools/get_flops.py')
VANILLA = 'configs/vanilla/wrn16-w2_b128x1_cifar10.py'
KD = 'configs/kd/wrn40-2_to_wrn16-2.py'


def _macs_by_hand(model: nn.Module, shape) -> int:
    """Convolutions, linear layers and BatchNorm counted from their shapes
    during one forward pass (out elements x in channels x kernel area for a
    convolution, in x out for a linear layer, two per element for an affine BN
    (scale and shift), one per input element for the average pooling)."""
    total = 0

    def count(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += output.numel() * module.in_channels // module.groups \
                * kh * kw
        elif isinstance(module, nn.Linear):
            total += module.in_features * output.numel()
        elif isinstance(module, nn.BatchNorm2d):
            total += inputs[0].numel() * (2 if module.affine else 1)
        elif isinstance(module, nn.AdaptiveAvgPool2d):
            total += inputs[0].numel()

    handles = [m.register_forward_hook(count) for m in model.modules()]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, *shape), mode='tensor')
    for handle in handles:
        handle.remove()
    return total


def test_vanilla_wrn10_1_counts_the_whole_classifier(capsys):
    options = ['model.backbone.depth=10', 'model.backbone.widen_factor=1']
    results = get_flops.main([VANILLA, '--shape', '16', '--cfg-options',
                              *options])
    cfg = get_flops.load_config(VANILLA, {
        o.split('=')[0]: int(o.split('=')[1]) for o in options})
    model = MODELS.build(cfg.model)
    assert list(results) == ['model']
    assert results['model'].params == sum(
        p.numel() for p in model.parameters()) == 77_850
    assert results['model'].macs == _macs_by_hand(model, (16, 16))
    assert '77,850 parameters' in capsys.readouterr().out


def test_kd_config_reports_student_and_teacher_of_the_reference_pair():
    # The counts the backbone tests assert for WRN-16-2 and WRN-40-2; the
    # teacher's released checkpoint is not needed.
    results = get_flops.main([KD])
    assert list(results) == ['student', 'teacher']
    assert results['student'].params == 691_674
    assert results['teacher'].params == 2_243_546
    assert results['student'].macs == 101_606_656
    assert results['teacher'].macs == 329_016_576


def test_bad_shape_is_a_user_error():
    with pytest.raises(get_flops.UserError, match='--shape'):
        get_flops.main([VANILLA, '--shape', '32', '32', '3'])
