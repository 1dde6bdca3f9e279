"""The benchmark's options and what they change in the training config.

Each speed option sets the config key a training run would use, so the
Runner path is measured the way it trains: ``amp`` → ``AmpOptimWrapper``
with ``dtype``, ``channels_last`` → ``ChannelsLastHook`` in ``custom_hooks``,
``compile`` → ``compile=True``, ``cudnn_benchmark`` →
``env_cfg.cudnn_benchmark``.
"""
from dataclasses import dataclass
from typing import Optional

import torch
from mmengine.config import Config

from razor_wrn.cli import UserError

AMP_DTYPES = {'none': None, 'fp16': 'float16', 'bf16': 'bfloat16'}
LOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


@dataclass
class BenchmarkOptions:
    """What to measure and how (the tool's command-line flags).

    Attributes:
        config: Path of the training config.
        iters: Timed steps per segment.
        warmup: Untimed steps before each segment.
        repeats: Segments per measurement (round-robin).
        device: ``'cpu'`` or ``'cuda'``.
        data: ``'synthetic'`` (random images written in CIFAR format) or
            ``'real'`` (the dataset at ``data_root``).
        data_root: Folder holding ``cifar-10-batches-py`` for real data;
            None keeps the config's.
        batch_size: Images per step of every dataloader; None keeps the
            config's.
        amp: ``'none'``, ``'fp16'`` or ``'bf16'``.
        channels_last: Run the networks in channels-last memory format.
        compile: ``torch.compile`` (the config's ``compile=True``).
        cudnn_benchmark: cuDNN autotuning (``env_cfg.cudnn_benchmark``).
        threads: ``torch.set_num_threads`` for the whole run; None keeps
            torch's default (one per core).
        device_loader: Also time the Runner's train iteration on batches of
            a ``DeviceCIFAR10Loader`` over the same images (same model,
            optimizer and hooks), against the config's standard loader.
        cfg_options: Config overrides, merged before the options above.
    """

    config: str
    iters: int = 20
    warmup: int = 5
    repeats: int = 3
    device: str = 'cpu'
    data: str = 'synthetic'
    data_root: Optional[str] = None
    batch_size: Optional[int] = None
    amp: str = 'none'
    channels_last: bool = False
    compile: bool = False
    cudnn_benchmark: bool = False
    threads: Optional[int] = None
    device_loader: bool = False
    cfg_options: Optional[dict] = None


def check_options(options: BenchmarkOptions) -> None:
    """Raise :class:`UserError` for options that cannot work here."""
    if options.iters < 1 or options.repeats < 1 or options.warmup < 0:
        raise UserError('--iters and --repeats must be >= 1, --warmup >= 0.')
    if options.batch_size is not None and options.batch_size < 1:
        raise UserError('--batch-size must be >= 1.')
    if options.threads is not None and options.threads < 1:
        raise UserError('--threads must be >= 1.')
    if options.device not in ('cpu', 'cuda'):
        raise UserError(f'--device must be cpu or cuda, not {options.device}')
    if options.data not in ('synthetic', 'real'):
        raise UserError(f'--data must be synthetic or real, not '
                        f'{options.data}')
    if options.amp not in AMP_DTYPES:
        raise UserError(f'--amp must be one of {sorted(AMP_DTYPES)}.')
    cuda = torch.cuda.is_available()
    if options.device == 'cuda' and not cuda:
        raise UserError('--device cuda, but torch sees no CUDA device.')
    if options.device == 'cpu' and cuda:
        # mmengine's Runner moves the model to CUDA whenever it can.
        raise UserError('--device cpu, but CUDA is visible and the Runner '
                        'would train there; set CUDA_VISIBLE_DEVICES= (the '
                        'benchmark tool does this itself).')
    if options.amp != 'none' and options.device == 'cpu':
        raise UserError('--amp needs --device cuda: mmengine\'s '
                        'AmpOptimWrapper refuses to run on the CPU.')


def prepare_config(cfg: Config, options: BenchmarkOptions,
                   work_dir: str, data_root: Optional[str]) -> Config:
    """Turn a training config into the benchmark's, in place.

    Sets the work dir, quiet logging, batch sizes and data roots; drops the
    teacher checkpoint (random weights time the same) and the teacher check
    before training; and sets the config keys of the speed options.

    Args:
        cfg: The loaded config (``--cfg-options`` already merged).
        options: The benchmark options.
        work_dir: Where the Runner may write (logs, visualizer files).
        data_root: Folder holding ``cifar-10-batches-py`` for every
            dataloader; None keeps the config's.

    Returns:
        Config: ``cfg``.
    """
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    cfg.log_level = 'WARNING'
    cfg.load_from = None
    cfg.resume = False
    for key in LOADER_KEYS:
        loader = cfg.get(key)
        if not loader:
            continue
        if options.batch_size is not None:
            loader.batch_size = options.batch_size
        if data_root is not None:
            _set_data_root(loader, data_root)
    if 'teacher_ckpt' in cfg.model:
        cfg.model.teacher_ckpt = None
    if 'teacher_eval' in cfg.get('default_hooks', {}):
        # Removed, not set to None: mmengine 0.10.7 accepts None only for
        # its own default hook names and asserts on any other.
        cfg.default_hooks.pop('teacher_eval')
    dtype = AMP_DTYPES[options.amp]
    if dtype is not None:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.dtype = dtype
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        # mmengine's ValLoop knows fp16 autocast only.
        if dtype == 'float16' and isinstance(cfg.get('val_cfg'), dict):
            cfg.val_cfg.fp16 = True
    if options.channels_last:
        hooks = list(cfg.get('custom_hooks', None) or [])
        if not any(hook.get('type') == 'ChannelsLastHook' for hook in hooks):
            hooks.append(dict(type='ChannelsLastHook'))
        cfg.custom_hooks = hooks
    if options.compile:
        cfg.compile = True
    if options.cudnn_benchmark:
        cfg.setdefault('env_cfg', {})
        cfg.env_cfg.cudnn_benchmark = True
    return cfg


def _set_data_root(loader: dict, data_root: str) -> None:
    """Point a dataloader config (mmengine's or ``DeviceCIFAR10Loader``)
    at ``data_root`` and stop it from downloading."""
    if loader.get('dataset') is not None:
        loader.dataset.data_root = data_root
        if 'download' in loader.dataset:
            loader.dataset.download = False
    elif loader.get('type') == 'DeviceCIFAR10Loader':
        loader.data_root = data_root
    else:
        raise UserError(f'Cannot set the data root of dataloader {loader}.')
