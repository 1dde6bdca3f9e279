"""Pieces shared by the scripts in ``tools/``: config loading, runner
building and turning user errors into one readable line and exit code 1."""
import argparse
import os
import os.path as osp
import sys
import traceback
from typing import Callable, List, Optional, Sequence

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from .checkpoint import CheckpointError
from .datasets import CIFARDataError
from .engine.distributed import DistributedSetupError, init_distributed


class UserError(RuntimeError):
    """Bad input from the user (config, paths, arguments)."""


# Errors caused by input rather than by a bug: they are reported as one line
# without a traceback (set RAZOR_WRN_DEBUG=1 to see it anyway).
USER_ERRORS = (UserError, CheckpointError, CIFARDataError,
               FloatingPointError, FileNotFoundError, SyntaxError,
               DistributedSetupError)


def add_run_arguments(parser: argparse.ArgumentParser,
                      example_option: str) -> None:
    """--cfg-options, --launcher and torch's --local-rank, as in every
    OpenMMLab tool."""
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help=f'override config settings, e.g. {example_option}')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_run_args(parser: argparse.ArgumentParser,
                   argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parse ``argv``; export LOCAL_RANK for mmengine's launcher setup."""
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Load an mmengine config with clear errors for a missing or broken
    file, then merge ``--cfg-options``."""
    if not osp.isfile(path):
        raise UserError(f'Config file not found: {path!r}.')
    try:
        cfg = Config.fromfile(path)
    except SyntaxError as error:
        raise UserError(f'Syntax error in config {path!r}: {error}') from error
    except Exception as error:
        raise UserError(
            f'Could not read config {path!r}: {type(error).__name__}: '
            f'{error}') from error
    if cfg.get('model') is None:
        raise UserError(f'Config {path!r} defines no `model`.')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def default_work_dir(config_path: str) -> str:
    """``work_dirs/<config name>``, as OpenMMLab tools do."""
    return osp.join('work_dirs', osp.splitext(osp.basename(config_path))[0])


def build_runner(cfg: Config) -> Runner:
    """Build the Runner the config asks for (``runner_type``) or the default,
    after starting the process group of a multi-process run."""
    init_distributed(cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def run_cli(main: Callable[[Optional[Sequence[str]]], None],
            argv: Optional[List[str]] = None) -> None:
    """Run ``main``; report user errors as ``ERROR: ...`` and exit 1."""
    try:
        main(argv)
    except USER_ERRORS as error:
        if os.environ.get('RAZOR_WRN_DEBUG'):
            traceback.print_exc()
        message = str(error) or type(error).__name__
        print(f'ERROR: {message}', file=sys.stderr)
        sys.exit(1)
