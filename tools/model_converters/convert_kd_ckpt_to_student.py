"""Extract the student from a distillation checkpoint.

    python tools/model_converters/convert_kd_ckpt_to_student.py KD_CKPT OUT

The result holds only the student's weights (``architecture.`` removed from
the front of each key; teacher and connector weights dropped), loads
strictly into the student's vanilla config, and evaluates identically:

    python tools/test.py configs/vanilla/wrn16-w2_b16x8_cifar10.py OUT
"""
import argparse
import os.path as osp
from typing import Dict, List, Optional

import torch

import razor_wrn  # noqa: F401  (safe checkpoint loading)
from razor_wrn.checkpoint import (checkpoint_bytes, load_checkpoint_file,
                                  save_checkpoint_file, state_dict_of)
from razor_wrn.cli import UserError, run_cli
from razor_wrn.tool_parser import ToolParser

STUDENT_PREFIX = 'architecture.'


def student_state_dict(
        state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The student's weights of a distillation state dict, unprefixed."""
    return {
        key[len(STUDENT_PREFIX):]: value
        for key, value in state_dict.items()
        if key.startswith(STUDENT_PREFIX)
    }


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = ToolParser(
        description='Write the student of a distillation checkpoint as a '
        'plain classifier checkpoint')
    parser.add_argument('checkpoint', help='distillation checkpoint')
    parser.add_argument('out', help='student checkpoint to write')
    parser.add_argument(
        '--force', action='store_true', help='overwrite OUT if it exists')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if osp.exists(args.out) and not args.force:
        raise UserError(f'{args.out!r} exists; pass --force to overwrite it.')
    checkpoint = load_checkpoint_file(args.checkpoint)
    student = student_state_dict(state_dict_of(checkpoint, args.checkpoint))
    if not student:
        raise UserError(
            f'{args.checkpoint!r} has no "{STUDENT_PREFIX}*" weights: it is '
            'not a distillation checkpoint (a plain checkpoint needs no '
            'conversion).')
    meta = dict(checkpoint.get('meta', {})) if isinstance(
        checkpoint, dict) else {}
    # The distillation config in meta would mislead: this is no longer one.
    meta.pop('cfg', None)
    meta['converted_from'] = osp.abspath(args.checkpoint)
    save_checkpoint_file(
        checkpoint_bytes({'meta': meta, 'state_dict': student}), args.out)
    print(f'Wrote {len(student)} student tensors to {args.out}')


if __name__ == '__main__':
    run_cli(main)
