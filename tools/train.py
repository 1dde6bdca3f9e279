"""Train a model from a config: a plain WRN or a distillation.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--no-validate] [--tensorboard]
        [--cfg-options k=v ...]
        [--launcher none|pytorch|slurm]
"""
import argparse
import os.path as osp
from typing import List, Optional

import razor_wrn  # noqa: F401  (compat shim, safe loading, registries)
from razor_wrn.cli import (UserError, add_run_arguments, build_runner,
                           default_work_dir, load_config, parse_run_args,
                           run_cli)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--work-dir',
        help='where logs and checkpoints go (default: work_dirs/<config>)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or without a value from the '
        'latest checkpoint in the work dir')
    parser.add_argument(
        '--amp', action='store_true',
        help='automatic mixed precision (fp16 autocast, fp32 weights)')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help='scale the lr linearly with the actual total batch size')
    parser.add_argument(
        '--no-validate', action='store_true',
        help='skip validation during training')
    parser.add_argument(
        '--tensorboard', action='store_true',
        help='also log the scalars for TensorBoard (<work dir>/<timestamp>/'
        'vis_data)')
    add_run_arguments(parser, 'train_cfg.max_epochs=2')
    return parse_run_args(parser, argv)


def merge_args(cfg, args: argparse.Namespace):
    """Apply the command-line flags to the config."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = default_work_dir(args.config)
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.tensorboard:
        cfg.visualizer.vis_backends.append(dict(type='TensorboardVisBackend'))
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if not args.resume.startswith(('http://', 'https://')) and \
                not osp.isfile(args.resume):
            raise UserError(
                f'--resume checkpoint not found: {args.resume!r}. Pass an '
                'existing checkpoint, or --resume without a value to resume '
                'from the latest checkpoint in the work dir.')
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    cfg = merge_args(load_config(args.config, args.cfg_options), args)
    build_runner(cfg).train()


if __name__ == '__main__':
    run_cli(main)
