"""Training and evaluation throughput of a config: the Runner's iteration
against a hand-written PyTorch loop doing the same mathematics.

    python tools/analysis_tools/benchmark.py CONFIG [--iters N] [--warmup W]
        [--repeats R] [--device cpu|cuda] [--data synthetic|real]
        [--data-root DIR] [--batch-size B] [--amp {none,fp16,bf16}]
        [--channels-last] [--compile] [--cudnn-benchmark] [--threads T]
        [--device-loader] [--cfg-options k=v ...]

Prints the settings, each figure (median img/s over the repeats, every
repeat's img/s, peak memory increase) and the ratios Runner/limit, for
distillation configs KD/plain (step time), and with ``--device-loader``
device/standard loader. See ``razor_wrn.analysis.benchmark``.
"""
import argparse
import os
from typing import List, Optional

from mmengine.config import DictAction

import razor_wrn  # noqa: F401  (compat shim, safe loading, registries)
from razor_wrn.analysis import BenchmarkOptions, format_result, run_benchmark
from razor_wrn.cli import run_cli


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Runner vs hand-written training throughput')
    parser.add_argument('config', help='training config file path')
    parser.add_argument('--iters', type=int, default=20,
                        help='timed steps per segment')
    parser.add_argument('--warmup', type=int, default=5,
                        help='untimed steps before each segment')
    parser.add_argument('--repeats', type=int, default=3,
                        help='round-robin segments per measurement')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument(
        '--data', choices=['synthetic', 'real'], default='synthetic',
        help='random images written as CIFAR-10 files, or the real dataset')
    parser.add_argument(
        '--data-root',
        help='folder holding cifar-10-batches-py (--data real; default: '
        "the config's data_root)")
    parser.add_argument('--batch-size', type=int,
                        help="images per step (default: the config's)")
    parser.add_argument('--amp', choices=['none', 'fp16', 'bf16'],
                        default='none',
                        help='mixed precision (AmpOptimWrapper dtype)')
    parser.add_argument('--channels-last', action='store_true',
                        help='channels-last memory format (ChannelsLastHook)')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile (the config key compile=True)')
    parser.add_argument('--cudnn-benchmark', action='store_true',
                        help='cuDNN autotuning (env_cfg.cudnn_benchmark)')
    parser.add_argument(
        '--threads', type=int,
        help='torch intra-op threads (default: one per core)')
    parser.add_argument(
        '--device-loader', action='store_true',
        help='also time the Runner iteration on DeviceCIFAR10Loader '
        'batches of the same images (standard config only)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. '
        'train_dataloader.num_workers=0')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None):
    """Run the benchmark, print its table and return the
    :class:`~razor_wrn.analysis.BenchmarkResult`."""
    args = parse_args(argv)
    if args.device == 'cpu':
        # The Runner trains on CUDA whenever it sees a device. The imports
        # above do not initialise CUDA, so hiding the devices still works.
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    options = BenchmarkOptions(
        config=args.config,
        iters=args.iters,
        warmup=args.warmup,
        repeats=args.repeats,
        device=args.device,
        data=args.data,
        data_root=args.data_root,
        batch_size=args.batch_size,
        amp=args.amp,
        channels_last=args.channels_last,
        compile=args.compile,
        cudnn_benchmark=args.cudnn_benchmark,
        threads=args.threads,
        device_loader=args.device_loader,
        cfg_options=args.cfg_options)
    result = run_benchmark(options)
    print(format_result(result))
    return result


if __name__ == '__main__':
    run_cli(main)
