"""What ``tools/train.py`` runs: its command line (:func:`parse_args`),
the flags applied to a config (:func:`merge_args`, :func:`use_amp`,
:func:`use_captured_loop`) and the training itself (:func:`main`).

Here, not in the script, so that other tools (``tools/reproduce.py``) call
it by import.
"""
import argparse
import logging
import os.path as osp
import shlex
from typing import List, Optional

from mmengine.device import get_device
from mmengine.dist import get_world_size
from mmengine.logging import print_log

import razor_wrn  # noqa: F401  (compat shim, safe loading, registries)
from razor_wrn.checkpoint import (URL_SCHEMES, check_teacher_ckpt,
                                  directory_error)
from razor_wrn.engine.distributed import init_distributed
from razor_wrn.engine.loader_workers import stop_loader_workers
from razor_wrn.engine.train_recipe import apply_train_recipe
from razor_wrn.cli import (UserError, add_run_arguments, build_runner,
                           default_work_dir, load_config, parse_run_args,
                           writable_dir)
from razor_wrn.resume import resume_checkpoint
from razor_wrn.tool_parser import ToolParser


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = ToolParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--work-dir',
        help='where logs and checkpoints go (default: work_dirs/<config>)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or without a value from the '
        'latest checkpoint in the work dir')
    parser.add_argument(
        '--amp', nargs='?', const='auto', choices=['auto', 'fp16', 'bf16'],
        help='automatic mixed precision, fp32 weights either way: bf16 '
        'autocast (no loss scaling), or fp16 autocast with loss scaling '
        '(GPU only); without a value fp16 on a GPU, bf16 on a CPU')
    parser.add_argument(
        '--compile', action='store_true',
        help='record each training step as a CUDA graph and replay it '
        '(train_cfg type CapturedEpochBasedTrainLoop); steps that cannot be '
        'recorded run eagerly and the log says why')
    parser.add_argument(
        '--channels-last', action='store_true',
        help='run the model in channels-last (NHWC) memory format '
        '(ChannelsLastHook); same mathematics, often faster on GPUs')
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
    """Apply the command-line flags to the config.

    Raises:
        UserError: ``--auto-scale-lr`` without the config's base batch size,
            or ``--resume`` of a missing file.
        CheckpointError: ``--resume`` of a directory (naming the checkpoint
            in it that was likely meant) or of a damaged checkpoint.
    """
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = default_work_dir(args.config)
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.amp:
        use_amp(cfg, args.amp)
    if args.compile:
        use_captured_loop(cfg)
    if args.channels_last:
        hooks = list(cfg.get('custom_hooks') or [])
        if not any(hook.get('type') == 'ChannelsLastHook' for hook in hooks):
            cfg.custom_hooks = hooks + [dict(type='ChannelsLastHook')]
    if args.tensorboard:
        cfg.visualizer.vis_backends.append(dict(type='TensorboardVisBackend'))
    if args.auto_scale_lr:
        if not isinstance(cfg.get('auto_scale_lr'), dict) or \
                'base_batch_size' not in cfg.auto_scale_lr:
            raise UserError(
                '--auto-scale-lr needs the batch size the config\'s lr is '
                'meant for: add auto_scale_lr = dict(base_batch_size=N) to '
                'the config, or pass --cfg-options '
                'auto_scale_lr.base_batch_size=N.')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = resume_checkpoint(cfg.work_dir, None)
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
        if not args.resume.startswith(URL_SCHEMES):
            if osp.isdir(args.resume):
                raise directory_error(
                    args.resume, f'--resume {args.resume!r}', '--resume ',
                    also='; to continue that run in its own work dir, pass '
                    f'--work-dir {shlex.quote(args.resume)} --resume',
                    none_fix='Pass --resume CKPT, or --resume without a '
                    'value to resume the latest checkpoint in the work dir.')
            if not osp.isfile(args.resume):
                raise UserError(
                    f'--resume checkpoint not found: {args.resume!r}. Pass '
                    'an existing checkpoint, or --resume without a value to '
                    'resume from the latest checkpoint in the work dir.')
            cfg.load_from = resume_checkpoint(cfg.work_dir, args.resume)
    return cfg


def use_amp(cfg, precision: str = 'auto') -> None:
    """Mixed precision for ``--amp [fp16|bf16]``.

    ``bf16``: bf16 autocast on the run's device, no loss scaling (bf16 has
    fp32's exponent range). ``fp16``: mmengine's AmpOptimWrapper, fp16 with
    dynamic loss scaling, which needs an accelerator. ``auto`` (``--amp``
    alone): fp16 on an accelerator, bf16 on a CPU.

    Raises:
        UserError: ``fp16`` without a GPU.
    """
    device = get_device()
    if precision == 'auto':
        precision = 'bf16' if device == 'cpu' else 'fp16'
    if precision == 'bf16':
        cfg.optim_wrapper.type = 'BF16AutocastOptimWrapper'
        cfg.optim_wrapper.device_type = device
        print_log(f'--amp bf16: bf16 autocast on the {device}, fp32 weights, '
                  'no loss scaling.', logger='current', level=logging.INFO)
    elif device == 'cpu':
        raise UserError('--amp fp16 needs a GPU (mmengine\'s AmpOptimWrapper '
                        'refuses a CPU); use --amp bf16.')
    else:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def use_captured_loop(cfg) -> None:
    """``--compile``: train with ``CapturedEpochBasedTrainLoop``, keeping the
    config's epochs and validation settings.

    Raises:
        UserError: the config's training loop is not epoch-based.
    """
    train_cfg = dict(cfg.train_cfg)
    loop_type = train_cfg.pop('type', None)
    # mmengine reads by_epoch only without a type (and refuses both), so a
    # config that names its epoch loop has no by_epoch: its type decides.
    by_epoch = train_cfg.pop('by_epoch', True)
    if loop_type not in (None, 'EpochBasedTrainLoop',
                         'CapturedEpochBasedTrainLoop') or not by_epoch:
        raise UserError(
            '--compile needs an epoch-based train_cfg (by_epoch=True, or '
            f'type EpochBasedTrainLoop); this config has '
            f'{dict(cfg.train_cfg)}. Remove --compile, or train by epochs.')
    cfg.train_cfg = dict(type='CapturedEpochBasedTrainLoop', **train_cfg)


# What tools/train.py says after Ctrl-C.
ON_INTERRUPT = ('The checkpoints already saved are kept (each is written '
                'whole or not at all); run the same command with --resume '
                'to continue from the newest.')


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    cfg = merge_args(load_config(args.config, args.cfg_options), args)
    if cfg.model.get('teacher_ckpt'):
        # Before mmengine prints its environment and opens a log folder.
        check_teacher_ckpt(cfg.model.teacher_ckpt)
    writable_dir(cfg.work_dir, '--work-dir')
    # The process group first: the recipe follows the number of processes.
    init_distributed(cfg)
    apply_train_recipe(cfg, get_world_size())
    runner = build_runner(cfg)
    try:
        runner.train()
    finally:
        stop_loader_workers(runner)
