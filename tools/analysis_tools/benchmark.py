"""Training and evaluation throughput of a config: the Runner's iteration
against a hand-written PyTorch step doing the same mathematics.

    python tools/analysis_tools/benchmark.py CONFIG [options, see --help]

Prints the settings, each figure (median img/s over the repeats, every
repeat's img/s, on CUDA the peak memory) and the ratios Runner/limit, for
distillation configs KD/plain (step time), and with ``--device-loader``
device/standard loader, the Runner's host overhead per step (ms over the
hand-written step; also with the epoch start spread over the epoch's
steps), the costs paid once per epoch (epoch start, validation,
checkpoint), and with ``--profile`` where the training step's time goes
(``razor_wrn/analysis/profile_segment.py``). How it measures:
``razor_wrn/analysis/benchmark_loop.py``; the limit:
``razor_wrn/analysis/hand_steps.py``. Each speed option sets the config key a
training run uses (``AmpOptimWrapper``, ``ChannelsLastHook``, the captured
train loop of ``tools/train.py --compile``, ``compile``,
``env_cfg.cudnn_benchmark``).
"""
import argparse
import os
import resource
import signal
import sys
import tempfile
import warnings
from typing import Dict, List, NamedTuple, Optional

import mmengine
import torch
from mmengine.config import Config
from mmengine.model import is_model_wrapper

import razor_wrn  # noqa: F401  (compat shim, safe loading, registries)
from razor_wrn.analysis.benchmark_loop import Figure
from razor_wrn.cli import UserError, build_runner, load_config, run_cli
from razor_wrn.config_options import ConfigOptionAction
from razor_wrn.datasets import CIFARChecksumWarning
from razor_wrn.datasets.loader_settings import batch_size_of
from razor_wrn.datasets.synthetic_cifar import write_synthetic_cifar
from razor_wrn.engine.train_recipe import apply_train_recipe, recipe_line
from razor_wrn.tool_parser import ToolParser

LABELS = {
    'runner_train': 'Runner train iteration',
    'runner_train_device': 'Runner train iteration, device loader',
    'hand_train': 'hand-written train step (limit)',
    'hand_student': 'hand-written student-only step',
    'runner_eval': 'Runner val iteration',
    'hand_eval': 'hand-written eval forward (limit)',
}
# name: (numerator, denominator) of img/s, reported when both exist. The
# KD/plain ratios are step *time* ratios (how many plain steps one KD step
# costs), hence plain img/s over KD img/s.
RATIOS = {
    'Runner/limit train': ('runner_train', 'hand_train'),
    'KD/plain time (hand)': ('hand_student', 'hand_train'),
    'KD/plain time (Runner)': ('hand_student', 'runner_train'),
    'Runner/limit eval': ('runner_eval', 'hand_eval'),
    'device/standard loader': ('runner_train_device', 'runner_train'),
}


class BenchmarkResult(NamedTuple):
    """Settings of the run, figures by name, ratios by name, caveats."""

    settings: Dict[str, str]
    figures: Dict[str, Figure]
    ratios: Dict[str, float]
    notes: List[str]
    epoch_costs: Dict[str, float]
    profiles: Dict[str, str] = {}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = ToolParser(
        description='Runner vs hand-written training throughput')
    add = parser.add_argument
    add('config', help='training config file path')
    add('--iters', type=int, default=20, help='timed steps per segment')
    add('--warmup', type=int, default=5, help='untimed steps first')
    add('--repeats', type=int, default=3, help='segments per measurement')
    add('--device', choices=['cpu', 'cuda'], default='cpu')
    add('--data', choices=['synthetic', 'real'], default='synthetic',
        help='random images in CIFAR-10 files, or the real dataset')
    add('--data-root', help='folder holding cifar-10-batches-py (--data '
        "real; default: the config's data_root)")
    add('--batch-size', type=int,
        help="images per training and evaluation step (default: the "
        "config's; a config's recipe of R processes, e.g. b16x8, trains R x "
        'its batch size in R ghost BatchNorm groups on one process, as '
        'tools/train.py does)')
    add('--image-size', type=int,
        help='train on random square images of this size (e.g. 2: the '
        'network costs almost nothing, so the host overhead shows), through '
        "a loader of the config's kind (a standard one keeps its workers, "
        'sampler, collate and pipeline, the crop scaled); evaluation keeps '
        'the data')
    add('--amp', choices=['none', 'fp16', 'bf16'], default='none',
        help='mixed precision (AmpOptimWrapper dtype)')
    add('--channels-last', action='store_true', help='ChannelsLastHook')
    add('--compile', action='store_true',
        help='the captured train loop of tools/train.py --compile (tensor '
        'batches; CUDA graphs on CUDA)')
    add('--torch-compile', action='store_true',
        help="config key compile=True (mmengine's torch.compile)")
    add('--cudnn-benchmark', action='store_true',
        help='env_cfg.cudnn_benchmark=True')
    add('--threads', type=int, help='torch intra-op threads')
    add('--clock', choices=['wall', 'cpu'], default='wall',
        help="time segments by the wall clock, or by the process's CPU "
        'time (CPU only: figures that do not depend on other jobs)')
    add('--profile', type=int, default=0, metavar='ROWS',
        help="after the timing, profile --iters steps of the Runner's and "
        'the hand-written training step and print their ROWS most costly '
        'operators (on CUDA kernels, by device time)')
    add('--device-loader', action='store_true',
        help='also time the Runner on DeviceCIFAR10Loader batches of the '
        'same images (standard config only)')
    add('--cfg-options', nargs='+', action=ConfigOptionAction,
        help='override config settings, e.g. train_dataloader.num_workers=0')
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> None:
    """Raise :class:`UserError` for options that cannot work here."""
    if args.iters < 1 or args.repeats < 1 or args.warmup < 0 or \
            args.profile < 0:
        raise UserError('--iters and --repeats must be >= 1, --warmup and '
                        '--profile >= 0.')
    if any(value is not None and value < 1 for value in (
            args.batch_size, args.threads, args.image_size)):
        raise UserError('--batch-size, --threads and --image-size must be '
                        '>= 1.')
    if args.image_size and args.device_loader:
        raise UserError('--image-size replaces the training data, so there '
                        'is no standard loader to compare --device-loader '
                        'with; give one of them.')
    if args.amp != 'none' and args.device == 'cpu':
        raise UserError("--amp needs --device cuda: mmengine's "
                        'AmpOptimWrapper refuses to run on the CPU.')
    if args.clock == 'cpu' and args.device == 'cuda':
        raise UserError('--clock cpu times the CPU; a CUDA step runs on the '
                        'GPU: use --clock wall with --device cuda.')
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise UserError('--device cuda, but torch sees no CUDA device.')
    if args.device == 'cpu' and torch.cuda.is_available():
        # The Runner trains on CUDA whenever it sees a device.
        raise UserError('--device cpu, but CUDA is already initialised in '
                        'this process; set CUDA_VISIBLE_DEVICES= first.')


def prepare_config(cfg: Config, args: argparse.Namespace, work_dir: str,
                   data_root: Optional[str]) -> None:
    """Turn a training config into the benchmark's, in place: the
    :class:`~runner_steps.BenchmarkLoop` as train loop, quiet logging, no
    teacher checkpoint or teacher check (random weights time the same), the
    batch sizes and data roots, and the config keys of the speed options.
    """
    cfg.work_dir, cfg.launcher, cfg.log_level = work_dir, 'none', 'WARNING'
    cfg.load_from, cfg.resume = None, False
    cfg.train_cfg = dict(
        type='BenchmarkLoop', max_epochs=cfg.train_cfg.get('max_epochs', 1),
        iters=args.iters, warmup=args.warmup, repeats=args.repeats,
        amp=args.amp, device_loader=args.device_loader,
        captured=args.compile, image_size=args.image_size, clock=args.clock,
        profile=args.profile)
    recipe = cfg.get('recipe_world_size')
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key) or {}
        if loader and args.batch_size:
            loader.batch_size = args.batch_size
            if key == 'train_dataloader' and _is_recipe(recipe):
                loader.batch_size = recipe_group_size(args.batch_size,
                                                      recipe)
        if loader and data_root:
            # mmengine's loaders hold a dataset, DeviceCIFAR10Loader not.
            target = loader.dataset if 'dataset' in loader else loader
            target.data_root = data_root
            if 'download' in target:
                target.download = False
    # A teacher bank checks its header against the loaded teacher, so a run
    # with a bank keeps the teacher checkpoint it was built from.
    if 'teacher_ckpt' in cfg.model and not cfg.model.get('teacher_bank'):
        cfg.model.teacher_ckpt = None
    # Removed, not set to None: mmengine 0.10.7 asserts on None for any
    # hook name but its own defaults.
    cfg.get('default_hooks', {}).pop('teacher_eval', None)
    # One process, as tools/train.py without a launcher: a b16x8 config
    # trains 128 images per step in 8 ghost BatchNorm groups.
    apply_train_recipe(cfg, world_size=1)
    if args.amp != 'none':
        cfg.optim_wrapper.update(
            type='AmpOptimWrapper',
            dtype={'fp16': 'float16', 'bf16': 'bfloat16'}[args.amp])
        # mmengine's ValLoop knows fp16 autocast only.
        if args.amp == 'fp16' and isinstance(cfg.get('val_cfg'), dict):
            cfg.val_cfg.fp16 = True
    hooks = list(cfg.get('custom_hooks') or [])
    if args.channels_last and not any(
            hook.get('type') == 'ChannelsLastHook' for hook in hooks):
        cfg.custom_hooks = hooks + [dict(type='ChannelsLastHook')]
    if args.torch_compile:
        cfg.compile = True
    if args.cudnn_benchmark:
        cfg.setdefault('env_cfg', {})['cudnn_benchmark'] = True


def _is_recipe(recipe_world_size) -> bool:
    """A valid recipe of several processes (apply_train_recipe names what
    is wrong with an invalid one)."""
    return isinstance(recipe_world_size, int) and recipe_world_size > 1


def step_batch_size(cfg: Config, args: argparse.Namespace) -> int:
    """Training images per step: ``--batch-size``, else the config's train
    batch size times its recipe's processes."""
    recipe = cfg.get('recipe_world_size')
    return args.batch_size or cfg.train_dataloader.batch_size * (
        recipe if _is_recipe(recipe) else 1)


def recipe_group_size(batch_size: int, recipe_world_size: int) -> int:
    """Images per BatchNorm group when ``batch_size`` images per step
    follow a recipe of ``recipe_world_size`` processes.

    Raises:
        UserError: ``batch_size`` is not a multiple of the recipe's
            processes.
    """
    if batch_size % recipe_world_size:
        raise UserError(
            f'--batch-size {batch_size} is not a multiple of this config\'s '
            f'{recipe_world_size} recipe processes (recipe_world_size), whose '
            f'BatchNorm groups one step holds: give a multiple of '
            f'{recipe_world_size}, or add --cfg-options '
            'recipe_world_size=None to train plain BatchNorm over the whole '
            'batch.')
    return batch_size // recipe_world_size


def recipe_of(cfg: Config) -> str:
    """' (<the recipe's log line>)' for a config trained by a recipe of
    several processes, else ''."""
    recipe = cfg.get('default_hooks', {}).get('train_recipe')
    if not recipe or recipe['recipe_world_size'] == 1:
        return ''
    return ' (' + recipe_line(recipe['recipe_world_size'],
                              recipe['batch_size'], 1) + ')'


def handover(loop, loader) -> str:
    """How the captured train ``loop`` makes ``loader``'s tensor batches
    (',' and the loop's words), or '' (device loader, standard loop)."""
    how = loop.handover(loader) if hasattr(loop, 'handover') else ''
    return f', {how}' if how else ''


def val_loop_of(loop) -> str:
    """The val loop's class and, for ``TensorValLoop``, whether it
    validates on tensor batches (the Runner's eval figure times that)."""
    if loop is None:
        return '-'
    if not hasattr(loop, 'runs_on_tensors'):
        return type(loop).__name__
    return f'{type(loop).__name__} (' + (
        'tensor batches' if loop.runs_on_tensors() else
        'data samples per image') + ')'


def settings_of(cfg: Config, args: argparse.Namespace, runner,
                data_root: Optional[str]) -> Dict[str, str]:
    """The conditions of the run, printed above the table."""
    model = runner.model.module if is_model_wrapper(runner.model) \
        else runner.model
    loader = runner.train_loop.dataloader
    conv = next(p for p in model.parameters() if p.dim() == 4)
    device = torch.device(args.device)
    return {
        'config': args.config,
        'model': f'{type(model).__name__} ('
        f'{"distillation" if hasattr(model, "teacher") else "classifier"})',
        'device': f'cuda ({torch.cuda.get_device_name(device)})'
        if device.type == 'cuda' else f'cpu ({os.cpu_count()} cores)',
        'threads': f'{torch.get_num_threads()} intra-op',
        'images': 'train: random {0}x{0}, val: {1}'.format(
            args.image_size, 'the data' if runner.val_loop else '-')
        if args.image_size else 'the data\'s (32x32)',
        'batch': f'train {batch_size_of(loader)}{recipe_of(cfg)}, val ' + (
            str(runner.val_loop.dataloader.batch_size)
            if runner.val_loop else '-'),
        'data': 'synthetic (random images in CIFAR-10 files)'
        if args.data == 'synthetic' else
        f'real ({data_root or "data_root of the config"})',
        'train loader': f'{type(loader).__name__}, '
        f'{getattr(loader, "num_workers", 0)} workers' + (handover(
            runner.train_loop, loader) if args.compile else ''),
        'memory format': 'channels_last' if conv.is_contiguous(
            memory_format=torch.channels_last) and not conv.is_contiguous()
        else 'contiguous (NCHW)',
        'train loop': f'CapturedEpochBasedTrainLoop ({runner.train_loop.mode}'
        ' steps)' if args.compile else 'EpochBasedTrainLoop',
        'val loop': val_loop_of(runner.val_loop),
        'amp / channels_last / --torch-compile / cudnn_benchmark':
        f'{args.amp} / {args.channels_last} / {args.torch_compile} / '
        f'{cfg.get("env_cfg", {}).get("cudnn_benchmark", False)}',
        'timing': f'{args.repeats} round-robin repeats x ({args.warmup} '
        f'warmup + {args.iters} timed steps), median, '
        + ('process CPU time' if args.clock == 'cpu' else 'wall clock'),
        'versions': f'torch {torch.__version__}, mmengine '
        f'{mmengine.__version__}',
    }


def format_result(result: BenchmarkResult) -> str:
    """The settings, a table of the figures and the ratios, as text."""
    lines = [f'{key:<16} {value}' if len(key) <= 16 else f'{key}: {value}'
             for key, value in result.settings.items()]
    lines += ['', f'{"measurement":<38}{"img/s":>9}  {"peak MiB":>9}  '
              'runs (img/s)']
    for name, figure in result.figures.items():
        peak = f'{max(figure.peak_mib):>9.1f}' if figure.peak_mib \
            else f'{"-":>9}'
        runs = ' '.join(f'{value:.1f}' for value in figure.img_per_s)
        lines.append(f'{LABELS[name]:<38}{figure.median:>9.1f}  {peak}  '
                     f'{runs}')
    lines.append('')
    for name, ratio in result.ratios.items():
        top, bottom = (result.figures[key] for key in RATIOS[name])
        lines.append(f'{name:<24}{ratio:>6.3f}  = {top.median:.1f} / '
                     f'{bottom.median:.1f}')
    train, limit = (result.figures.get(key) for key in ('runner_train',
                                                        'hand_train'))
    if train and limit:
        overhead = 1000 * train.batch_size * (1 / train.median -
                                               1 / limit.median)
        lines.append(f'{"Runner host overhead":<24}{overhead:>6.2f} ms per '
                     'step over the hand-written step')
    costs = result.epoch_costs
    if train and limit and 'epoch start' in costs:
        # The timed steps leave the epoch's start out; a run pays it once
        # per epoch (a device loader augments the epoch's images there).
        steps = int(costs['steps per epoch'])
        spread = overhead + 1000 * costs['epoch start'] / steps
        lines.append(f'{"  with the epoch start":<24}{spread:>6.2f} ms per '
                     f'step, spread over the epoch\'s {steps} steps')
    if costs:
        lines.append('per epoch: ' + ', '.join(
            f'{name} {1000 * costs[name]:.1f} ms'
            for name in ('epoch start', 'validation', 'checkpoint')
            if name in costs) + (
                f' ({costs["checkpoint MiB"]:.1f} MiB)'
                if 'checkpoint MiB' in costs else ''))
    lines.extend(f'note: {note}' for note in result.notes)
    for name, table in result.profiles.items():
        lines += ['', f'profile: {LABELS[name]}: {table}']
    return '\n'.join(lines)


def run_benchmark(args: argparse.Namespace) -> BenchmarkResult:
    """Build the config's Runner with the benchmark loop and run it."""
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix='razor_wrn_benchmark_') as tmp:
        cfg = load_config(args.config, args.cfg_options)
        data_root = args.data_root
        if args.data == 'synthetic':
            # One segment's worth of images (each segment is a new epoch).
            steps = args.warmup + args.iters
            train = step_batch_size(cfg, args) * steps
            val = (args.batch_size or cfg.val_dataloader.batch_size) * steps \
                if cfg.get('val_dataloader') else 0
            data_root = os.path.join(tmp, 'data')
            write_synthetic_cifar(data_root, 10, -(-max(train, 10) // 10),
                                  -(-max(val, 10) // 10))
        prepare_config(cfg, args, os.path.join(tmp, 'work_dir'), data_root)
        with warnings.catch_warnings():
            if args.data == 'synthetic':
                # The files written just above are not the official release.
                warnings.simplefilter('ignore', CIFARChecksumWarning)
            runner = build_runner(cfg)
            figures, notes, costs, profiles = runner.train()
        settings = settings_of(cfg, args, runner, data_root)
    settings['load average'] = f'{load_before} before, {_load()} after'
    if args.device == 'cpu':
        # The CPU has no per-figure peak; ru_maxrss is KiB on Linux.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        settings['peak memory'] = f'{peak:.0f} MiB resident, the whole ' \
            'process (ru_maxrss); per figure on CUDA only'
    ratios = {name: figures[top].median / figures[bottom].median
              for name, (top, bottom) in RATIOS.items()
              if top in figures and bottom in figures}
    # The Runner does the limit's work and more, so a Runner/limit well
    # above 1 is noise, not speed: other load (on the wall clock), a machine
    # whose speed varies (even its CPU time), or data epochs begun inside
    # the Runner's segments, whose smaller last batches count as full ones.
    notes += [f'{name} is {ratio:.2f}: above 1, so its segments were not '
              'alike (other load on the machine, its speed varying, or data '
              'epochs begun inside them, whose smaller last batch counts as '
              'a full one); use more data, --repeats and --iters, on a quiet '
              'machine, and compare medians of several runs.'
              for name, ratio in ratios.items()
              if name.startswith('Runner/limit') and ratio > 1.05]
    return BenchmarkResult(settings, figures, ratios, notes, costs, profiles)


def _load() -> str:
    """The 1-minute load average (other processes slow every figure)."""
    try:
        return f'{os.getloadavg()[0]:.2f}'
    except OSError:
        return '?'


def main(argv: Optional[List[str]] = None) -> BenchmarkResult:
    """Run the benchmark, print its table and return its result."""
    args = parse_args(argv)
    if args.device == 'cpu':
        # Works as long as nothing in the process initialised CUDA yet.
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    check_args(args)
    threads = torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        result = run_benchmark(args)
    finally:
        torch.set_num_threads(threads)
    print(format_result(result))
    return result


def _exit_on_sigterm(signum, frame) -> None:
    # SIGTERM ends Python without unwinding, which left the benchmark's
    # temporary data and work dir behind; exit through the with-blocks.
    sys.exit(128 + signum)


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    run_cli(main)
