"""Pieces shared by the scripts in ``tools/``: config loading, runner
building and turning user errors into one readable line and exit code 1."""
import argparse
import logging
import os
import os.path as osp
import sys
import time
import traceback
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Optional, Sequence

from mmengine.config import Config
from mmengine.registry import LOOPS, RUNNERS
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop, Runner

from .config_options import (ConfigOptionAction, apply_config_options,
                             check_type_arguments)
from .engine.distributed import init_distributed
# UserError is raised by the tools through this module.
from .errors import USER_ERRORS, UserError  # noqa: F401


def add_cfg_options(parser: argparse.ArgumentParser,
                    example_option: str) -> None:
    """--cfg-options KEY=VALUE ..., parsed by :class:`ConfigOptionAction`
    (spaces and quoted commas stay in a value), for :func:`load_config`.

    Args:
        parser: The tool's parser.
        example_option: An option shown in the help, e.g.
            ``'train_cfg.max_epochs=2'``.
    """
    parser.add_argument(
        '--cfg-options', nargs='+', action=ConfigOptionAction,
        help=f'override config settings, e.g. {example_option}; a key the '
        'config does not have is an error unless written +KEY=VALUE')


def add_run_arguments(parser: argparse.ArgumentParser,
                      example_option: str) -> None:
    """--cfg-options (:func:`add_cfg_options`), --launcher and torch's
    --local-rank, as in every OpenMMLab tool."""
    add_cfg_options(parser, example_option)
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


def read_config_file(path: str, kind: str = 'config') -> Config:
    """``Config.fromfile(path)`` with one clear error for a missing or broken
    file; ``kind`` names the file in it (``'config'``, ``'table'``).

    Raises:
        UserError: the file is missing, has a syntax error or fails to
            evaluate.
    """
    if not osp.isfile(path):
        raise UserError(f'{kind.capitalize()} file not found: {path!r}.')
    try:
        return Config.fromfile(path)
    except SyntaxError as error:
        raise UserError(f'Syntax error in {kind} {path!r}: {error}') from error
    except Exception as error:
        raise UserError(
            f'Could not read {kind} {path!r}: {type(error).__name__}: '
            f'{error}') from error


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Load an mmengine config with clear errors for a missing or broken
    file, then merge ``--cfg-options`` (each key checked against the config
    first, see :func:`razor_wrn.config_options.apply_config_options`) and
    make the settings mmengine would reject consistent.

    Raises:
        UserError: the file is missing or broken, defines no ``model``, an
            option names a key the config lacks or gives a value of the
            wrong kind, or a ``type=...`` dict holds an argument its class
            does not take (see
            :func:`razor_wrn.config_options.check_type_arguments`).
    """
    cfg = read_config_file(path)
    if cfg.get('model') is None:
        raise UserError(f'Config {path!r} defines no `model`.')
    if cfg_options:
        apply_config_options(cfg, cfg_options)
        if 'data_root' in cfg_options:
            _point_loaders_at_data_root(cfg, cfg_options)
    _make_consistent(cfg)
    check_type_arguments(cfg)
    return cfg


# The default hook names mmengine's Runner.register_default_hooks accepts as
# None (meaning: do not register it).
MMENGINE_DEFAULT_HOOKS = ('runtime_info', 'timer', 'sampler_seed', 'logger',
                          'param_scheduler', 'checkpoint')
LOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _point_loaders_at_data_root(cfg: Config, options: dict) -> None:
    """``--cfg-options data_root=DIR``: the configs' loaders copied the
    ``data_root`` variable when the file was read, so the option alone would
    change nothing; set it on each loader too (``dataset.data_root``, or a
    device loader's ``data_root``), unless an option sets that loader's own.
    """
    for name in LOADER_KEYS:
        loader = cfg.get(name)
        if not loader:
            continue
        if 'data_root' in loader:
            key, target = f'{name}.data_root', loader
        elif 'data_root' in (loader.get('dataset') or {}):
            key, target = f'{name}.dataset.data_root', loader['dataset']
        else:
            continue
        if key not in options:
            target['data_root'] = options['data_root']


def _make_consistent(cfg: Config) -> None:
    """Settings that mean something clear but that mmengine or torch reject.

    ``default_hooks.NAME=None`` disables a hook; mmengine asserts on None for
    any name but its own defaults, so such an entry is removed instead.
    Persistent workers need workers: with ``num_workers=0`` torch's
    DataLoader raises, so ``persistent_workers`` follows ``num_workers``.
    Beside a batch sampler torch's DataLoader refuses ``drop_last``: a
    loader's ``drop_last`` moves into its ``batch_sampler``. A ``train_cfg`` that names its loop keeps no ``by_epoch``
    (:func:`_one_loop_kind`).

    Raises:
        UserError: ``train_cfg.by_epoch`` contradicts ``train_cfg.type``.
    """
    _one_loop_kind(cfg)
    hooks = cfg.get('default_hooks')
    if isinstance(hooks, dict):
        for name in [name for name, hook in hooks.items()
                     if hook is None and name not in MMENGINE_DEFAULT_HOOKS]:
            hooks.pop(name)
    for key in LOADER_KEYS:
        loader = cfg.get(key)
        if isinstance(loader, dict) and loader.get('persistent_workers') \
                and not loader.get('num_workers', 0):
            loader.persistent_workers = False
        if isinstance(loader, dict) and 'drop_last' in loader and \
                isinstance(loader.get('batch_sampler'), dict):
            loader.batch_sampler.drop_last = loader.pop('drop_last')


def _one_loop_kind(cfg: Config) -> None:
    """Drop ``train_cfg.by_epoch`` where ``train_cfg.type`` names a loop
    of that kind.

    A config or ``+train_cfg.type=...`` that names the loop merges into the
    base schedule's ``dict(by_epoch=True, ...)`` key by key, so the
    ``by_epoch`` stays: mmengine refuses ``type`` and ``by_epoch``
    together, and the loop's class takes no ``by_epoch``. Both say the same
    where the class is an epoch loop and ``by_epoch`` is true (or an
    iteration loop and false). A loop not in mmengine's LOOPS registry is
    left to mmengine's own error.

    Raises:
        UserError: ``by_epoch`` says the other kind of loop.
    """
    train_cfg = cfg.get('train_cfg')
    if not isinstance(train_cfg, dict) or not {'type', 'by_epoch'} <= set(
            train_cfg):
        return
    loop = train_cfg['type']
    loop = LOOPS.get(loop) if isinstance(loop, str) else loop
    if not isinstance(loop, type) or not issubclass(
            loop, (EpochBasedTrainLoop, IterBasedTrainLoop)):
        return
    if bool(train_cfg['by_epoch']) != issubclass(loop, EpochBasedTrainLoop):
        raise UserError(
            f'train_cfg names the loop {loop.__name__} but sets by_epoch='
            f'{train_cfg["by_epoch"]!r}: remove train_cfg.by_epoch (the '
            'type decides), or name a loop of the other kind.')
    train_cfg.pop('by_epoch')


def writable_dir(path: str, option: str) -> str:
    """Create ``path`` if needed; return it.

    Raises:
        UserError: ``path`` cannot be created or written to.
    """
    if osp.exists(path) and not osp.isdir(path):
        raise UserError(f'{option} {path!r} is a file, not a folder: pass a '
                        'folder you can write to.')
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        raise UserError(
            f'{option} {path!r} cannot be created ({error.strerror}): pass a '
            'folder you can write to.') from error
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError(f'{option} {path!r} is not writable: pass a folder '
                        'you can write to.')
    return path


def default_work_dir(config_path: str) -> str:
    """``work_dirs/<config name>``, as OpenMMLab tools do."""
    return osp.join('work_dirs', osp.splitext(osp.basename(config_path))[0])


# The work dirs of the Runners this process built, by the second
# (mmengine's timestamp string) they started in.
_runs_by_second: Dict[str, List[str]] = {}


def _timestamp() -> str:
    return time.strftime('%Y%m%d_%H%M%S', time.localtime(time.time()))


def wait_for_the_next_second() -> None:
    """Sleep until ``time.time()`` reaches the next whole second."""
    time.sleep(1 - time.time() % 1)


def _name_the_run(cfg: Config) -> None:
    """Give a Runner built in the same second as an earlier one of this
    process its own experiment name, or wait for the next second if it
    would also share that run's work dir (a run of this process, or a
    log folder of this second already on disk).

    mmengine names a run's logger, visualizer and message hub after
    ``{experiment name or config name}_{second it started}`` and hands out
    an existing instance of that name, so a second run started within the
    same second (``tools/reproduce.py`` evaluating right after a short
    training) would log into the first one's files; its log folder is
    ``work_dir/{second}``.
    """
    work_dir = osp.abspath(cfg.get('work_dir') or '.')
    runs = _runs_by_second.get(_timestamp(), [])
    # Another process (a resumed job of tools/reproduce.py) may have
    # started a run in this work dir within this second: its log folder
    # says so.
    if work_dir in runs or osp.isdir(osp.join(work_dir, _timestamp())):
        wait_for_the_next_second()
        runs = []
    name = cfg.get('experiment_name') or osp.splitext(
        osp.basename(cfg.filename or 'run'))[0]
    if runs:
        cfg.experiment_name = f'{name}-{len(runs) + 1}'


class ConsoleFilter(logging.Filter):
    """Keep what only the log file needs off the console.

    mmengine logs the environment, the whole config (about 265 lines for a
    distillation) and the hook order when a Runner starts, and mmengine's
    own CheckpointHook warns that its ``FileClient`` is deprecated: about
    350 lines before the first loss; and every single-process run is told
    that SyncBN layers (if any) become BN. The log file in the run's folder keeps
    all of them, and the config is saved beside it
    (``WORK_DIR/<config name>.py``).
    """

    PREFIXES = ('Config:\n', 'Hooks will be executed in the following order',
                '"FileClient" will be deprecated',
                '"HardDiskBackend" is the alias of "LocalBackend"',
                # Said by every single-process run, whether or not the
                # model has a SyncBN layer.
                'Distributed training is not used, all SyncBatchNorm')

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not (message.startswith(self.PREFIXES) or
                    'System environment:' in message[:100])


@contextmanager
def _quiet_console() -> Iterator[None]:
    """Give the console handler of every Runner built inside the block a
    :class:`ConsoleFilter` (mmengine creates it with the Runner's logger,
    which logs the environment and config at once)."""
    build_logger = Runner.build_logger

    def build_quiet_logger(self, *args, **kwargs):
        logger = build_logger(self, *args, **kwargs)
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler and not any(
                    isinstance(f, ConsoleFilter) for f in handler.filters):
                handler.addFilter(ConsoleFilter())
        return logger

    Runner.build_logger = build_quiet_logger
    try:
        yield
    finally:
        Runner.build_logger = build_logger


def build_runner(cfg: Config) -> Runner:
    """Build the Runner the config asks for (``runner_type``) or the default,
    after starting the process group of a multi-process run. Its console
    leaves out the environment, config and hook listing
    (:class:`ConsoleFilter`) and names the files that hold them instead.

    Raises:
        UserError: a part of the config cannot be built (an unknown type, a
            wrong or missing argument, a value its class rejects): mmengine
            reports these as raw errors from deep inside its registry; or
            the work dir cannot be written (a full disk, a quota).
    """
    init_distributed(cfg)
    _name_the_run(cfg)
    try:
        with _quiet_console():
            runner = RUNNERS.build(cfg) if 'runner_type' in cfg else \
                Runner.from_cfg(cfg)
    except (TypeError, ValueError, KeyError, AssertionError) as error:
        # str(KeyError) quotes its message.
        message = error.args[0] if isinstance(error, KeyError) and \
            error.args else error
        message = str(message).strip().rstrip('.')
        raise UserError(
            f'The config cannot be built: {type(error).__name__}: '
            f'{message}. Check the config and --cfg-options '
            '(RAZOR_WRN_DEBUG=1 shows where it failed).') from error
    except OSError as error:
        # The Runner writes its log folder, log file and config dump: a
        # full disk or a quota stops it here.
        where = f' ({error.filename})' if error.filename else ''
        raise UserError(
            f'Could not write the run\'s files in {cfg.work_dir}{where}: '
            f'{error.strerror or error}. Free space, or pass --work-dir on '
            'a disk you can write to.') from error
    _runs_by_second.setdefault(runner.timestamp, []).append(
        osp.abspath(runner.work_dir))
    config = osp.basename(cfg.filename) if cfg.filename else \
        f'{runner.timestamp}.py'
    runner.logger.info(
        f'Config: {osp.join(runner.work_dir, config)}; environment, config '
        'and hooks: '
        f'{osp.join(runner.log_dir, runner.timestamp + ".log")}')
    return runner


def run_cli(main: Callable[[Optional[Sequence[str]]], None],
            argv: Optional[List[str]] = None,
            on_interrupt: str = '') -> None:
    """Run ``main``; report user errors (:data:`razor_wrn.errors.USER_ERRORS`)
    as ``ERROR: ...`` and exit 1, without a traceback unless
    ``RAZOR_WRN_DEBUG`` is set. Ctrl-C ends in one line too (exit 130, the
    shell's code for SIGINT), followed by ``on_interrupt``: what was kept
    and how to go on."""
    try:
        main(argv)
    except USER_ERRORS as error:
        if os.environ.get('RAZOR_WRN_DEBUG'):
            traceback.print_exc()
        message = str(error) or type(error).__name__
        print(f'ERROR: {message}', file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        if os.environ.get('RAZOR_WRN_DEBUG'):
            traceback.print_exc()
        print(' '.join(filter(None, ['ERROR: Interrupted (Ctrl-C).',
                                     on_interrupt])), file=sys.stderr)
        sys.exit(130)
