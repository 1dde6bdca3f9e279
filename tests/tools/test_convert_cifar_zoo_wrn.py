"""The CIFAR-zoo WRN converter: same outputs after conversion, refusals
with a reason, and a zoo checkpoint given as teacher_ckpt explained."""
import errno
import os

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from conftest import load_tool
from mmpretrain.registry import MODELS

from razor_wrn.checkpoint import CheckpointError
from razor_wrn.cli import UserError, run_cli

convert_tool = load_tool('model_converters/convert_cifar_zoo_wrn.py')


class ZooBlock(nn.Module):
    """The block of RepDistiller's / mdistiller's WRN, as their code
    computes it: the input is pre-activated (BN-ReLU); when the channels
    change, the 1x1 ``convShortcut`` takes that pre-activated input,
    otherwise the raw input is added."""

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.convShortcut = None if in_planes == planes else nn.Conv2d(
            in_planes, planes, 1, stride, bias=False)

    def forward(self, x):
        activated = F.relu(self.bn1(x))
        out = self.conv2(F.relu(self.bn2(self.conv1(activated))))
        return out + (x if self.convShortcut is None
                      else self.convShortcut(activated))


class ZooStage(nn.Module):
    def __init__(self, n, in_planes, planes, stride):
        super().__init__()
        self.layer = nn.Sequential(*[
            ZooBlock(in_planes if i == 0 else planes, planes,
                     stride if i == 0 else 1) for i in range(n)])

    def forward(self, x):
        return self.layer(x)


class ZooWRN(nn.Module):
    def __init__(self, depth, width, num_classes):
        super().__init__()
        n, c = (depth - 4) // 6, [16 * width, 32 * width, 64 * width]
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.block1 = ZooStage(n, 16, c[0], 1)
        self.block2 = ZooStage(n, c[0], c[1], 2)
        self.block3 = ZooStage(n, c[1], c[2], 2)
        self.bn1 = nn.BatchNorm2d(c[2])
        self.fc = nn.Linear(c[2], num_classes)

    def forward(self, x):
        out = self.block3(self.block2(self.block1(self.conv1(x))))
        out = F.avg_pool2d(F.relu(self.bn1(out)), 8)
        return self.fc(out.flatten(1))


def _random_zoo(depth, width, num_classes=100, seed=0):
    torch.manual_seed(seed)
    model = ZooWRN(depth, width, num_classes)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.normal_(0, 0.2)
            module.running_mean.normal_(0, 0.2)
            module.running_var.uniform_(0.5, 2.0)
    return model.eval()


def _razor_classifier(depth, width, num_classes):
    return MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='WideResNet', depth=depth, widen_factor=width),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes,
                  in_channels=64 * width))).eval()


@pytest.mark.parametrize('depth,width', [(40, 2), (16, 2), (40, 1),
                                         (10, 1)])
def test_converted_wrn_computes_the_same(depth, width, tmp_path):
    zoo = _random_zoo(depth, width)
    src, dst = tmp_path / 'zoo.pth', tmp_path / 'out' / 'wrn.pth'
    torch.save({'model': zoo.state_dict(), 'epoch': 240}, src)
    convert_tool.main([str(src), str(dst)])
    saved = torch.load(dst, weights_only=True)
    assert saved['meta']['architecture'] == f'WRN-{depth}-{width}'
    assert saved['meta']['num_classes'] == 100
    classifier = _razor_classifier(depth, width, 100)
    classifier.load_state_dict(saved['state_dict'], strict=True)
    has_shortcut = [k for k in saved['state_dict'] if 'downsample' in k]
    # widen 1: stage 1 keeps 16 channels, so only stages 2 and 3 project.
    assert len(has_shortcut) == (2 if width == 1 else 3)
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected, got = zoo(images), classifier(images, mode='tensor')
    assert (got - expected).abs().max() < 1e-5
    assert expected.std() > 0.1  # the outputs are not trivially equal


def test_bare_state_dict_and_missing_batch_counters(tmp_path, monkeypatch):
    zoo = _random_zoo(10, 1, num_classes=10)
    # As saved by torch < 0.4.1: no num_batches_tracked.
    state = {k: v for k, v in zoo.state_dict().items()
             if not k.endswith('num_batches_tracked')}
    torch.save(state, tmp_path / 'bare.pth')
    convert_tool.main([str(tmp_path / 'bare.pth'), str(tmp_path / 'o.pth')])
    converted = torch.load(tmp_path / 'o.pth', weights_only=True)
    _razor_classifier(10, 1, 10).load_state_dict(converted['state_dict'],
                                                 strict=True)
    with pytest.raises(UserError, match='--force'):
        convert_tool.main([str(tmp_path / 'bare.pth'),
                           str(tmp_path / 'o.pth')])
    # A write that fails (here the disk is full) leaves the file whole.
    monkeypatch.setattr(os, 'fsync', _full_disk)
    with pytest.raises(CheckpointError, match='No space left'):
        convert_tool.main([str(tmp_path / 'bare.pth'),
                           str(tmp_path / 'o.pth'), '--force'])
    assert torch.equal(
        torch.load(tmp_path / 'o.pth', weights_only=True)['state_dict'][
            'head.fc.weight'], converted['state_dict']['head.fc.weight'])
    assert sorted(p.name for p in tmp_path.iterdir()) == ['bare.pth',
                                                          'o.pth']


def _full_disk(fd):
    raise OSError(errno.ENOSPC, 'No space left on device')


def _refusal(state, tmp_path):
    torch.save({'model': state}, tmp_path / 'zoo.pth')
    with pytest.raises(UserError) as error:
        convert_tool.main([str(tmp_path / 'zoo.pth'),
                           str(tmp_path / 'out.pth')])
    assert not (tmp_path / 'out.pth').exists()
    return str(error.value)


def test_other_computations_are_refused_with_the_reason(tmp_path):
    state = _random_zoo(10, 1, num_classes=10).state_dict()
    biased = {**state, 'block2.layer.0.conv1.bias': torch.zeros(32)}
    assert 'block2.layer.0.conv1.bias: a conv with a bias' in _refusal(
        biased, tmp_path)
    raw_shortcut = {**state, 'block1.layer.0.shortcut.weight':
                    torch.zeros(16, 16, 1, 1)}
    assert 'on the raw input' in _refusal(raw_shortcut, tmp_path)
    projected = {**state, 'block1.layer.0.convShortcut.weight':
                 torch.zeros(16, 16, 1, 1)}
    assert 'adds a projection of its input' in _refusal(projected, tmp_path)
    extra = {**state, 'fc2.weight': torch.zeros(10, 64)}
    assert 'fc2.weight: a weight outside the WRN computation' in _refusal(
        extra, tmp_path)
    wide_stem = {**state, 'conv1.weight': torch.zeros(32, 3, 3, 3)}
    assert 'conv1.weight has shape (32, 3, 3, 3)' in _refusal(
        wide_stem, tmp_path)
    uneven = {k: v for k, v in _random_zoo(16, 1, 10).state_dict().items()
              if not k.startswith('block3.layer.1.')}
    assert 'Blocks per stage are [2, 2, 1]' in _refusal(uneven, tmp_path)


def test_zoo_teacher_ckpt_is_explained(tmp_path, tiny_cifar10, data_options,
                                      tools, capsys):
    zoo = tmp_path / 'wrn_40_2.pth'
    torch.save({'model': _random_zoo(10, 1, 10).state_dict()}, zoo)
    wrn10_1 = [f'model.{m}.{k}' for m in ('architecture', 'teacher')
               for k in ('backbone.depth=10', 'backbone.widen_factor=1')]
    with pytest.raises(SystemExit) as exit_:
        run_cli(tools['train'].main, [
            'configs/kd/wrn40-2_to_wrn16-2.py', '--work-dir',
            str(tmp_path / 'wd'), '--cfg-options', *wrn10_1,
            f'model.teacher_ckpt={zoo}', *data_options(tiny_cifar10, 10)])
    message = capsys.readouterr().err
    assert exit_.value.code == 1
    assert 'RepDistiller' in message and 'missing' not in message
    assert (f'python tools/model_converters/convert_cifar_zoo_wrn.py {zoo} '
            f'{tmp_path / "wrn_40_2_razor_wrn.pth"}') in message
