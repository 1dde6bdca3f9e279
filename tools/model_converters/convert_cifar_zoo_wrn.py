"""Convert a WRN trained by RepDistiller's or mdistiller's code.

    python tools/model_converters/convert_cifar_zoo_wrn.py SRC DST [--force]

SRC is ``{'model': state_dict}`` (as those codes save, e.g. the teachers of
mdistiller's ``cifar_teachers.tar``) or the bare state dict of their
``WideResNet`` (HobbitLong/RepDistiller ``models/wrn.py``,
megvii-research/mdistiller ``mdistiller/models/cifar/wrn.py``). DST is a
razor_wrn classifier checkpoint (``backbone.*``, ``head.fc.*``) that loads
strictly into ``ImageClassifier(WideResNet(depth, k), GlobalAveragePooling,
LinearClsHead(64k, classes))`` and computes the same outputs on 32x32
images. Both compute, per block: BN-ReLU on the input; 3x3 conv, BN-ReLU,
(dropout), 3x3 conv; plus the input itself, or a bias-free 1x1
``convShortcut`` of the *pre-activated* input when the channels change; then
BN-ReLU, ``avg_pool2d(8)`` (global average pooling of the 8x8 map) and
``fc``. Dropout holds no weights and is off in eval mode, where a teacher
runs. Any weight outside that computation is refused with the reason.
"""
import argparse
import os.path as osp
import re
from typing import Dict, List, Optional, Tuple

import torch

import razor_wrn  # noqa: F401  (safe checkpoint loading)
from razor_wrn.checkpoint import (checkpoint_bytes, cifar_zoo_wrn_weights,
                                  load_checkpoint_file, save_checkpoint_file)
from razor_wrn.cli import UserError, run_cli
from razor_wrn.tool_parser import ToolParser

BLOCK_KEY = re.compile(
    r'block([123])\.layer\.(\d+)\.(bn1|conv1|bn2|conv2|convShortcut)\.(\w+)')
TOP_KEY = re.compile(r'(conv1|bn1|fc)\.(\w+)')
BN_ENTRIES = ('weight', 'bias', 'running_mean', 'running_var',
              'num_batches_tracked')


def _why_refused(key: str) -> str:
    """The reason a zoo key has no counterpart in razor_wrn's WRN."""
    if key.endswith('.bias') and 'conv' in key.rsplit('.', 2)[-2].lower():
        return 'a conv with a bias (the WRN convs have none)'
    if 'shortcut' in key.lower():
        return ('a shortcut module other than the 1x1 convShortcut on the '
                'pre-activated input (e.g. one on the raw input)')
    return 'a weight outside the WRN computation'


def _target_key(key: str) -> Optional[str]:
    """razor_wrn's name for a zoo key, or None when it has none."""
    match = BLOCK_KEY.fullmatch(key)
    if match:
        stage, block, module, entry = match.groups()
        module = 'downsample' if module == 'convShortcut' else module
        allowed = ('weight', ) if module.startswith(('conv', 'down')) \
            else BN_ENTRIES
        return (f'backbone.layer{stage}.{block}.{module}.{entry}'
                if entry in allowed else None)
    match = TOP_KEY.fullmatch(key)
    if match:
        module, entry = match.groups()
        allowed = {'conv1': ('weight', ), 'bn1': BN_ENTRIES,
                   'fc': ('weight', 'bias')}[module]
        prefix = 'head.fc' if module == 'fc' else f'backbone.{module}'
        return f'{prefix}.{entry}' if entry in allowed else None
    return None


def _bn_shapes(name: str, channels: int) -> Dict[str, Tuple[int, ...]]:
    return {f'{name}.{entry}': (channels, ) for entry in BN_ENTRIES[:4]}


def _architecture(zoo: Dict[str, torch.Tensor]) -> Tuple[int, int, int]:
    """(depth, widen_factor, num_classes), after checking every shape and
    that a convShortcut exists exactly where the channels change."""
    blocks = [sorted({int(m.group(2)) for m in map(BLOCK_KEY.fullmatch, zoo)
                      if m and m.group(1) == str(stage)})
              for stage in (1, 2, 3)]
    n = len(blocks[0])
    if n == 0 or any(b != list(range(n)) for b in blocks):
        raise UserError(f'Blocks per stage are {[len(b) for b in blocks]} '
                        '(numbered from 0): a WRN has the same number in '
                        'each of block1..3.')
    width = zoo['block1.layer.0.conv1.weight'].shape[0] // 16
    num_classes = zoo['fc.weight'].shape[0]
    expected = {'conv1.weight': (16, 3, 3, 3),
                'fc.weight': (num_classes, 64 * width),
                'fc.bias': (num_classes, ),
                **_bn_shapes('bn1', 64 * width)}
    in_channels = 16
    for stage, channels in zip((1, 2, 3), (16 * width, 32 * width,
                                            64 * width)):
        for block in range(n):
            name = f'block{stage}.layer.{block}'
            expected.update(_bn_shapes(f'{name}.bn1', in_channels))
            expected.update(_bn_shapes(f'{name}.bn2', channels))
            expected[f'{name}.conv1.weight'] = (channels, in_channels, 3, 3)
            expected[f'{name}.conv2.weight'] = (channels, channels, 3, 3)
            shortcut = f'{name}.convShortcut.weight'
            if in_channels != channels:
                expected[shortcut] = (channels, in_channels, 1, 1)
            elif shortcut in zoo:
                raise UserError(
                    f'{shortcut} exists where the block keeps its '
                    f'{channels} channels: that block adds a projection of '
                    'its input where the WRN adds the input itself.')
            in_channels = channels
    for key, shape in expected.items():
        if key not in zoo:
            raise UserError(f'{key} is missing: not a complete '
                            f'WRN-{6 * n + 4}-{width}.')
        if tuple(zoo[key].shape) != shape:
            raise UserError(
                f'{key} has shape {tuple(zoo[key].shape)}, a '
                f'WRN-{6 * n + 4}-{width} needs {shape}.')
    return 6 * n + 4, width, num_classes


def convert(zoo: Dict[str, torch.Tensor]) -> Tuple[Dict[str, torch.Tensor],
                                                   Tuple[int, int, int]]:
    """razor_wrn's state dict of a zoo WRN and its (depth, widen_factor,
    num_classes).

    Raises:
        UserError: a key or shape that is not the zoo WRN's, with the reason.
    """
    refused = [f'{key}: {_why_refused(key)}' for key in zoo
               if _target_key(key) is None]
    if refused:
        raise UserError(
            'Not the RepDistiller/mdistiller WRN computation, refusing to '
            'convert: ' + '; '.join(refused[:4]) +
            (f'; ... and {len(refused) - 4} more' if len(refused) > 4 else '')
            + '.')
    architecture = _architecture(zoo)
    converted = {_target_key(key): value for key, value in zoo.items()}
    # Checkpoints of torch < 0.4.1 have no BN batch counter; torch's own BN
    # loader fills it with 0 for them, and so does this.
    for key in [k for k in converted if k.endswith('.running_var')]:
        counter = key[:-len('running_var')] + 'num_batches_tracked'
        converted.setdefault(counter, torch.tensor(0))
    return converted, architecture


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = ToolParser(
        description='Write a WRN checkpoint of RepDistiller or mdistiller as '
        'a razor_wrn classifier checkpoint')
    parser.add_argument('src', help="zoo checkpoint ({'model': ...} or bare)")
    parser.add_argument('dst', help='razor_wrn checkpoint to write')
    parser.add_argument(
        '--force', action='store_true', help='overwrite DST if it exists')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if osp.exists(args.dst) and not args.force:
        raise UserError(f'{args.dst!r} exists; pass --force to overwrite it.')
    zoo = cifar_zoo_wrn_weights(load_checkpoint_file(args.src))
    if zoo is None:
        raise UserError(
            f'{args.src!r} is not a RepDistiller/mdistiller WRN checkpoint: '
            "expected {'model': state_dict} or a state dict with "
            'block1.layer.0.conv1.weight and fc.weight.')
    state_dict, (depth, width, num_classes) = convert(zoo)
    meta = dict(converted_from=osp.abspath(args.src),
                architecture=f'WRN-{depth}-{width}', num_classes=num_classes)
    save_checkpoint_file(
        checkpoint_bytes({'meta': meta, 'state_dict': state_dict}), args.dst)
    print(f'Wrote WRN-{depth}-{width} ({num_classes} classes) to {args.dst}: '
          f'WideResNet(depth={depth}, widen_factor={width}) with '
          f'head.in_channels={64 * width}, head.num_classes={num_classes}.')


if __name__ == '__main__':
    run_cli(main)
