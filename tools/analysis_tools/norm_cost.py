"""The b16x8 recipe's ghost BatchNorm against plain BatchNorm: a WRN
backbone's forward + backward, side by side in one process.

    python tools/analysis_tools/norm_cost.py [--depth 16] [--widen-factor 2]
        [--batch-size 128] [--groups 8] [--image-size 32] [--channels-last]
        [--device cpu|cuda] [--amp bf16] [--iters 5] [--repeats 5]
        [--threads N]

What it measures: :mod:`razor_wrn.analysis.norm_cost`.
"""
import os
from typing import List, Optional

import torch

import razor_wrn  # noqa: F401  (compat shim, registries)
from razor_wrn.analysis.norm_cost import NormCost, norm_costs
from razor_wrn.cli import UserError, run_cli
from razor_wrn.tool_parser import ToolParser


def _threads() -> str:
    count = torch.get_num_threads()
    return f'{count} thread' + ('' if count == 1 else 's')


def main(argv: Optional[List[str]] = None) -> NormCost:
    parser = ToolParser(description='ghost vs plain BatchNorm step time')
    add = parser.add_argument
    add('--depth', type=int, default=16, help='WRN depth, 6n+4 (16)')
    add('--widen-factor', type=int, default=2, help='WRN width (2)')
    add('--batch-size', type=int, default=128, help='images per step (128)')
    add('--groups', type=int, default=8, help='ghost BatchNorm groups (8)')
    add('--image-size', type=int, default=32, help='height = width (32)')
    add('--channels-last', action='store_true', help='NHWC networks')
    add('--device', choices=['cpu', 'cuda'], default='cpu', help='(cpu)')
    add('--amp', choices=['none', 'bf16'], default='none',
        help='bf16 autocast (none)')
    add('--iters', type=int, default=5, help='steps per timed segment (5)')
    add('--repeats', type=int, default=5, help='round-robin segments (5)')
    add('--threads', type=int,
        help="torch intra-op threads (torch's default)")
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        raise UserError(f'--threads must be >= 1, got {args.threads}.')
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise UserError('--device cuda, but torch sees no CUDA device.')
    if args.threads:
        torch.set_num_threads(args.threads)
    cost = norm_costs(args.depth, args.widen_factor, args.batch_size,
                      args.groups, args.image_size, args.channels_last,
                      args.device, None if args.amp == 'none' else args.amp,
                      args.iters, args.repeats)
    where = torch.cuda.get_device_name() if args.device == 'cuda' else \
        f'cpu ({os.cpu_count()} cores, {_threads()})'
    print(f'WRN-{args.depth}-{args.widen_factor}, batch {args.batch_size} '
          f'of {args.image_size}x{args.image_size}, '
          f'{"channels_last" if args.channels_last else "NCHW"}, '
          f'{args.amp if args.amp != "none" else "fp32"}, {where}, torch '
          f'{torch.__version__}; forward + backward, median of '
          f'{args.repeats} x {args.iters} steps, '
          + ('wall time' if args.device == 'cuda' else 'process CPU time'))
    for name, label in (('BN', 'BatchNorm over the batch'),
                        ('GhostBN', f'ghost BatchNorm, {args.groups} groups '
                         f'of {args.batch_size // args.groups}')):
        runs = ' '.join(f'{value:.1f}' for value in cost.ms[name])
        print(f'{label:<40} {cost.median(name):9.2f} ms  runs: {runs}')
    print(f'ghost / plain step time {cost.ratio:.3f}')
    return cost


if __name__ == '__main__':
    run_cli(main)
