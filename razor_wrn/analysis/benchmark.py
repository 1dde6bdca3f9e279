"""Throughput of a config's training step as the Runner runs it, against a
hand-written PyTorch loop doing the same mathematics on the same hardware.

All measurements live in one process and run interleaved: each repeat runs
one segment of every measurement, in an order rotated by one per repeat, so
machine noise and thermal drift hit all of them alike; each figure is the
median over its segments. Measurements (see :data:`LABELS`):

- ``runner_train``: the production iteration (dataloader with its workers,
  pipeline and collate; hooks; data preprocessor; forward/backward;
  ``optim_wrapper.update_params``), driven through ``train_loop.run_iter``
  after ``runner.train()``'s own setup (:mod:`.runner_steps`).
- ``hand_train``: the hardware limit, a hand-written step on a batch in
  memory (:mod:`.hand_steps`); for a distillation config the KD step.
- ``hand_student``: distillation configs only, the student's plain step, so
  ``KD/plain`` (the time of a KD step in plain steps) shows the teacher's
  share.
- ``runner_train_device`` (``device_loader`` option): the same Runner
  iteration on batches of a ``DeviceCIFAR10Loader`` over the same images, so
  ``device/standard loader`` compares the two data pipelines.
- ``runner_eval`` / ``hand_eval``: the val loop's iteration against the
  student's bare eval forward.

The speed options (amp, channels-last, compile, cudnn_benchmark) set the
config keys a training run uses, see :mod:`.options`.
"""
import os
import tempfile
from typing import Dict, List, Optional, Tuple

import mmengine
import torch
from mmengine.config import Config
from mmengine.model import is_model_wrapper

from razor_wrn.cli import UserError, build_runner, load_config
from razor_wrn.datasets.device_cifar import (DeviceCIFAR10Loader,
                                             DeviceTensorLoader)

from .hand_steps import (HandEvalSteps, HandTrainSteps, KDWeights,
                         logits_net, random_batch)
from .measure import Figure, Steps, measure_segment
from .options import AMP_DTYPES, BenchmarkOptions, check_options, \
    prepare_config
from .report import LABELS, BenchmarkResult, ratios_of
from .runner_steps import RunnerTrainSteps, RunnerValSteps, setup_training
from .synthetic_cifar import write_random_cifar10

# CIFAR images; the hand-written loops use batches of this shape.
IMAGE_SHAPE = (3, 32, 32)


def _is_distillation(model: torch.nn.Module) -> bool:
    """Whether ``model`` is an mmrazor distiller (student + teacher)."""
    return hasattr(model, 'teacher') and hasattr(model, 'student')


def _segment_images(cfg: Config, key: str, options: BenchmarkOptions) -> int:
    """Images one segment of ``key``'s loader consumes."""
    loader = cfg.get(key)
    if not loader:
        return 0
    batch_size = options.batch_size or loader.batch_size
    return batch_size * (options.warmup + options.iters)


def _kd_weights(algorithm: torch.nn.Module) -> Tuple[KDWeights, List[str]]:
    """Loss weights and temperature of a distillation config, and a note
    when its distiller has no temperature-based (Hinton KD) loss."""
    head_loss = getattr(algorithm.student.head, 'loss_module', None)
    ce = float(getattr(head_loss, 'loss_weight', 1.0))
    for loss in algorithm.distiller.distill_losses.values():
        if hasattr(loss, 'temperature'):
            return KDWeights(ce, float(getattr(loss, 'loss_weight', 1.0)),
                             float(loss.temperature)), []
    return KDWeights(ce, 1.0, 4.0), [
        'The distiller has no Hinton KD loss: the hand-written KD step '
        'times logit KD (T=4) of the same networks instead.'
    ]


def _hand_measurements(
        model: torch.nn.Module, optimizer: torch.optim.Optimizer,
        train_batch: int, val_batch: int, options: BenchmarkOptions,
        device: torch.device) -> Tuple[List[Steps], List[str]]:
    """The hand-written measurements of the Runner's ``model``."""
    amp_dtype = getattr(torch, AMP_DTYPES[options.amp]) \
        if options.amp != 'none' else None
    kd = _is_distillation(model)
    classifier = model.student if kd else model
    student = logits_net(classifier)
    teacher = logits_net(model.teacher) if kd else None
    if options.channels_last:
        student.to(memory_format=torch.channels_last)
        if teacher is not None:
            teacher.to(memory_format=torch.channels_last)
    num_classes = classifier.head.num_classes
    inputs, labels = random_batch(train_batch, IMAGE_SHAPE, num_classes,
                                  device, options.channels_last)

    def same_optimizer() -> torch.optim.Optimizer:
        # Same class and settings (lr, momentum, weight decay...).
        return type(optimizer)(student.parameters(), **optimizer.defaults)

    weights, notes = _kd_weights(model) if kd else (KDWeights(), [])
    # The KD step for a distiller, the plain step otherwise.
    steps: List[Steps] = [
        HandTrainSteps('hand_train', student, teacher, same_optimizer(),
                       inputs, labels, weights, amp_dtype, options.compile)
    ]
    if kd:
        steps.append(
            HandTrainSteps('hand_student', student, None, same_optimizer(),
                           inputs, labels, KDWeights(), amp_dtype,
                           options.compile))
    eval_inputs, _ = random_batch(val_batch, IMAGE_SHAPE, num_classes, device,
                                  options.channels_last)
    # The val loop autocasts for fp16 only (see prepare_config).
    eval_dtype = amp_dtype if options.amp == 'fp16' else None
    steps.append(HandEvalSteps('hand_eval', student, eval_inputs, eval_dtype))
    return steps, notes


def run_benchmark(options: BenchmarkOptions) -> BenchmarkResult:
    """Measure every figure of ``options.config`` (see the module doc).

    Args:
        options: What to measure and how.

    Returns:
        BenchmarkResult: Settings, figures, ratios and notes.
    """
    check_options(options)
    device = torch.device(options.device)
    # Other processes on the machine slow every figure (and oversubscribed
    # OpenMP threads a lot): the load average shows whether they ran.
    load_before = _load()
    threads = torch.get_num_threads()
    if options.threads is not None:
        torch.set_num_threads(options.threads)
    try:
        return _run(options, device, load_before)
    finally:
        torch.set_num_threads(threads)


def _run(options: BenchmarkOptions, device: torch.device,
         load_before: str) -> BenchmarkResult:
    """:func:`run_benchmark` once the options are checked."""
    with tempfile.TemporaryDirectory(prefix='razor_wrn_benchmark_') as tmp:
        cfg = load_config(options.config, options.cfg_options)
        data_root = options.data_root
        if options.data == 'synthetic':
            # One segment's worth of images; a new epoch starts (untimed)
            # before each segment.
            data_root = write_random_cifar10(
                os.path.join(tmp, 'data'),
                _segment_images(cfg, 'train_dataloader', options),
                _segment_images(cfg, 'val_dataloader', options))
        prepare_config(cfg, options, os.path.join(tmp, 'work_dir'),
                       data_root)
        runner = build_runner(cfg)
        setup_training(runner)
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        model_device = next(model.parameters()).device
        if model_device.type != device.type:
            raise UserError(f'The Runner put the model on {model_device}, '
                            f'not on --device {options.device}.')
        measurements, notes = _measurements(runner, model, options, device)
        figures = _interleave(measurements, options, device)
        for steps in measurements:
            if getattr(steps, 'mid_segment_epochs', 0):
                notes.append(
                    f'{LABELS[steps.name]}: the data has fewer batches than '
                    'one segment, so a new data epoch (worker restart) '
                    f'began {steps.mid_segment_epochs} times inside segments;'
                    ' use more data or fewer --iters.')
        settings = _settings(cfg, options, runner, model, device, data_root)
        settings['load average'] = f'{load_before} before, {_load()} after'
    return BenchmarkResult(settings, figures, ratios_of(figures), notes)


def _measurements(runner, model: torch.nn.Module, options: BenchmarkOptions,
                  device: torch.device) -> Tuple[List[Steps], List[str]]:
    """Every measurement of the config, in :data:`LABELS` order, and notes.
    """
    measurements: List[Steps] = [RunnerTrainSteps(runner)]
    if options.device_loader:
        measurements.append(
            RunnerTrainSteps(runner, _device_loader(runner, device),
                             'runner_train_device'))
    train_batch = runner.train_loop.dataloader.batch_size
    val_batch = train_batch
    if runner.val_loop is not None:
        measurements.append(RunnerValSteps(runner))
        val_batch = runner.val_loop.dataloader.batch_size
    hand, notes = _hand_measurements(model, runner.optim_wrapper.optimizer,
                                     train_batch, val_batch, options, device)
    measurements.extend(hand)
    measurements.sort(key=lambda steps: list(LABELS).index(steps.name))
    return measurements, notes


def _device_loader(runner, device: torch.device) -> DeviceCIFAR10Loader:
    """A training ``DeviceCIFAR10Loader`` over the split and batch size of
    the Runner's standard train loader."""
    loader = runner.train_loop.dataloader
    if isinstance(loader, DeviceTensorLoader):
        raise UserError('--device-loader compares DeviceCIFAR10Loader with '
                        'the standard pipeline, but this config already '
                        'uses the device loader; give a config with '
                        'the standard one.')
    data_root = getattr(loader.dataset, 'data_root', None)
    if not data_root:
        raise UserError('--device-loader needs a CIFAR-10 train dataset with '
                        f'a data_root; this config has {loader.dataset!r}.')
    return DeviceCIFAR10Loader(
        data_root=data_root, split='train', batch_size=loader.batch_size,
        augment=True, shuffle=True, device=str(device), seed=0)


def _interleave(measurements: List[Steps], options: BenchmarkOptions,
                device: torch.device) -> Dict[str, Figure]:
    """Run ``options.repeats`` rounds of one segment per measurement, each
    round starting one measurement later, so none always runs first (e.g.
    right after the dataloader workers refilled their queue)."""
    figures = {
        steps.name: Figure(steps.name, steps.batch_size)
        for steps in measurements
    }
    try:
        for repeat in range(options.repeats):
            first = repeat % len(measurements)
            for steps in measurements[first:] + measurements[:first]:
                measure_segment(steps, figures[steps.name], options.warmup,
                                options.iters, device)
    finally:
        for steps in measurements:
            steps.close()
    return figures


def _load() -> str:
    """The 1-minute load average, or '?' where the OS has none."""
    try:
        return f'{os.getloadavg()[0]:.2f}'
    except OSError:
        return '?'


def _memory_format(model: torch.nn.Module) -> str:
    """Layout of the Runner model's first convolution weight, which shows
    whether ``ChannelsLastHook`` converted it."""
    for param in model.parameters():
        if param.dim() == 4:
            channels_last = param.is_contiguous(
                memory_format=torch.channels_last) and \
                not param.is_contiguous()
            return 'channels_last' if channels_last else 'contiguous (NCHW)'
    return 'no 4-d parameters'


def _settings(cfg: Config, options: BenchmarkOptions, runner,
              model: torch.nn.Module, device: torch.device,
              data_root: Optional[str]) -> Dict[str, str]:
    """The conditions of the run, as printed above the table."""
    loader = runner.train_loop.dataloader
    workers = getattr(loader, 'num_workers', None)
    loader_text = type(loader).__name__ + (
        f' (num_workers={workers}, persistent_workers='
        f'{getattr(loader, "persistent_workers", False)})'
        if workers is not None else '')
    if device.type == 'cuda':
        device_text = f'cuda ({torch.cuda.get_device_name(device)})'
    else:
        device_text = f'cpu ({os.cpu_count()} cores visible)'
    kd = _is_distillation(model)
    return {
        'config': options.config,
        'model': f'{type(model).__name__} '
        f'({"distillation" if kd else "plain classifier"})',
        'device': device_text,
        'threads': f'{torch.get_num_threads()} intra-op, '
        f'{torch.get_num_interop_threads()} inter-op',
        'batch': f'train {loader.batch_size}, val '
        f'{runner.val_loop.dataloader.batch_size if runner.val_loop else "-"}',
        'data': 'synthetic (random images in CIFAR-10 files)'
        if options.data == 'synthetic' else
        f'real ({data_root or "data_root of the config"})',
        'train loader': loader_text,
        'memory format': _memory_format(model),
        'amp / channels_last / compile / cudnn_benchmark':
        f'{options.amp} / {options.channels_last} / {options.compile} / '
        f'{cfg.get("env_cfg", {}).get("cudnn_benchmark", False)}',
        'timing': f'{options.repeats} round-robin repeats x ({options.warmup}'
        f' warmup + {options.iters} timed steps), median',
        'versions': f'torch {torch.__version__}, mmengine '
        f'{mmengine.__version__}',
    }
