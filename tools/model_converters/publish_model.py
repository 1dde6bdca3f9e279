"""Prepare a checkpoint for release, as OpenMMLab's ``publish_model.py``.

    python tools/model_converters/publish_model.py CKPT OUT
        [--weights-dtype float32|bfloat16|float16]

Keeps the weights and ``meta`` (the run's config text, epoch, seed, dataset
classes), drops the optimizer, message hub and scheduler states, and writes
``OUT_<YYYYMMDD>-<sha256[:8]>.pth`` (OUT without ``.pth``), the model zoo's
name: a URL ending so is checked against its hash when a config loads it.
It prints the file's path, size and full sha256.

``--weights-dtype bfloat16`` (or ``float16``) stores the convolution and
linear weights in that precision, half the size; BatchNorm and every other
one-dimensional tensor stay float32. Evaluated or used as a teacher under
``--amp bf16`` (``fp16``) it gives the same outputs as the float32 file; in
float32 the outputs differ slightly. A distillation checkpoint keeps its
teacher: publish the student alone with ``convert_kd_ckpt_to_student.py``
first.
"""
import argparse
import datetime
import os
from typing import List, Optional

import razor_wrn  # noqa: F401  (safe checkpoint loading)
from razor_wrn.checkpoint.publishing import WEIGHT_DTYPES, publish_checkpoint
from razor_wrn.cli import run_cli
from razor_wrn.tool_parser import ToolParser


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = ToolParser(
        description='Write a checkpoint for release: weights and meta only, '
        'named OUT_<date>-<sha256 prefix>.pth')
    parser.add_argument('checkpoint', help='checkpoint path or URL')
    parser.add_argument(
        'out', help='published file name before _<date>-<hash>.pth (its '
        'folder is created)')
    parser.add_argument(
        '--weights-dtype', choices=list(WEIGHT_DTYPES), default='float32',
        help='precision of the convolution and linear weights (default: '
        '%(default)s); bfloat16 and float16 halve the file')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    date = datetime.date.today().strftime('%Y%m%d')
    path, sha256 = publish_checkpoint(args.checkpoint, args.out, date,
                                      args.weights_dtype)
    size_mb = os.path.getsize(path) / 1e6
    print(f'Published {path} ({size_mb:.2f} MB, weights '
          f'{args.weights_dtype})\nsha256 {sha256}')


if __name__ == '__main__':
    run_cli(main)
