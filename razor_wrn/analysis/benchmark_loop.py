"""The benchmark as an mmengine train loop: ``runner.train()`` does its
whole setup (optimizer, schedulers, ``before_run`` hooks, weight init,
``compile``), then :meth:`BenchmarkLoop.run` times the train loop's
``run_iter`` (hooks, preprocessor, ``train_step``) on its own dataloader —
or, with ``captured=True``, the iteration of
:class:`~razor_wrn.engine.loops.CapturedEpochBasedTrainLoop` (tensor
batches; on CUDA replayed graphs) — the val loop's ``run_iter``, the
hand-written limit (``hand_steps.py``), and the costs paid once per epoch:
the start of a data epoch, a validation pass and a checkpoint.

Each repeat runs one *segment* (``warmup`` untimed, then ``iters`` timed
steps) of every measurement, in an order rotated by one per repeat, so
machine noise hits all alike; a figure is the median over its segments. A
segment generator prepares (untimed), yields, then runs one step per
``next()``, yielding True where that step began a new data epoch. Each
Runner segment starts a data epoch; per-epoch work (``after_train_epoch``,
a val epoch's metrics) is left out: it does not depend on the step speed.
"""
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from itertools import islice
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import torch
from mmengine.model import is_model_wrapper
from mmengine.registry import LOOPS
from torch.utils.data import DataLoader

from razor_wrn.cli import UserError
from razor_wrn.datasets.device_cifar import (DeviceCIFAR10Loader,
                                             DeviceTensorLoader)
from razor_wrn.datasets.loader_settings import batch_size_of, sampler_of
from razor_wrn.datasets.virtual_ranks import VirtualRankSampler
from razor_wrn.engine.loops import CapturedEpochBasedTrainLoop
from razor_wrn.engine.runner import deal_virtual_ranks
from .hand_steps import LimitLoss, LimitUnavailable, hand_eval, hand_train
from .profile_segment import profile_segment
from .random_images import random_image_loader, random_standard_loader

AMP_DTYPES = {'none': None, 'fp16': torch.float16, 'bf16': torch.bfloat16}
IMAGE_SHAPE = (3, 32, 32)  # CIFAR (C, H, W)
Segment = Callable[[], Iterator[bool]]


@dataclass
class Figure:
    """One measurement: its batch size, each segment's img/s, on CUDA each
    segment's peak allocated memory above its start (MiB), and the data
    epochs begun inside segments."""

    batch_size: int
    img_per_s: List[float] = field(default_factory=list)
    peak_mib: List[float] = field(default_factory=list)
    epochs_in_segments: int = 0

    @property
    def median(self) -> float:
        """Median img/s: robust to one segment hit by noise."""
        return statistics.median(self.img_per_s)


def _steps(loader, run_iter: Callable) -> Iterator[bool]:
    """``run_iter(index, batch)`` over ``loader``, epoch after epoch."""
    batches, new_epoch = enumerate(loader), False
    yield False
    while True:
        for index, batch in batches:
            run_iter(index, batch)
            yield new_epoch
            new_epoch = False
        batches, new_epoch = enumerate(loader), True


class _Epochs:
    """An iterable whose every iteration is a new epoch, ``make()``."""

    def __init__(self, make: Callable[[], Iterator]) -> None:
        self.make = make

    def __iter__(self) -> Iterator:
        return self.make()


def runner_train(runner, loader) -> Segment:
    """Segments of the train loop's iteration on ``loader``: ``run_iter``,
    or on tensor batches ``run_tensor_iter`` when the loop is a
    :class:`CapturedEpochBasedTrainLoop` that chose tensor steps."""
    loop = runner.train_loop

    def segment() -> Iterator[bool]:
        runner.call_hook('before_train_epoch')
        runner.model.train()
        if getattr(loop, 'mode', 'standard') == 'standard':
            yield from _steps(loader, loop.run_iter)
        else:
            yield from _steps(_Epochs(lambda: loop.tensor_batches(loader)),
                              loop.run_tensor_iter)

    return segment


def epoch_costs(runner, loader, device: torch.device) -> Dict[str, float]:
    """Seconds of the work done once per epoch: the start of a data epoch
    (the time to its first batch, less a later batch's), a validation pass
    (the val loop's ``run()``), and saving a checkpoint; ``steps per
    epoch`` is the loader's length (a count, not seconds)."""
    loop = runner.train_loop
    tensor = getattr(loop, 'mode', 'standard') != 'standard'
    sync = torch.cuda.synchronize if device.type == 'cuda' else (
        lambda device: None)

    def timed(function) -> float:
        sync(device)
        start = time.perf_counter()
        function()
        sync(device)
        return time.perf_counter() - start

    batches = None

    def first() -> None:
        nonlocal batches
        batches = iter(loop.tensor_batches(loader) if tensor else loader)
        next(batches)

    costs = {'epoch start': timed(first) - timed(lambda: next(batches)),
             'steps per epoch': len(loader)}
    if runner.val_loop is not None:
        costs['validation'] = timed(runner.val_loop.run)
        runner.model.train()
    with tempfile.TemporaryDirectory(prefix='razor_wrn_ckpt_') as folder:
        costs['checkpoint'] = timed(lambda: runner.save_checkpoint(
            folder, 'benchmark.pth', save_optimizer=True,
            save_param_scheduler=True))
        costs['checkpoint MiB'] = os.path.getsize(
            os.path.join(folder, 'benchmark.pth')) / 2**20
    return costs


def runner_val(runner) -> Segment:
    """Segments of the val loop's iteration between ``before_val_epoch``
    and ``after_val``: ``run_iter``, or on tensor batches
    ``run_tensor_iter`` where the loop validates on them
    (``TensorValLoop``); the evaluator's results and the kept scores are
    dropped each time."""
    loop = runner.val_loop

    def segment() -> Iterator[bool]:
        for metric in loop.evaluator.metrics:
            metric.results.clear()
        loop.val_loss.clear()
        runner.call_hook('before_val')
        runner.call_hook('before_val_epoch')
        runner.model.eval()
        try:
            if getattr(loop, 'runs_on_tensors', lambda: False)():
                loop.start_tensor_epoch()
                yield from _steps(_Epochs(loop.tensor_batches),
                                  loop.run_tensor_iter)
            else:
                yield from _steps(loop.dataloader, loop.run_iter)
        finally:
            runner.call_hook('after_val')
            runner.model.train()

    return segment


def device_loader_like(loader, device: torch.device) -> DeviceCIFAR10Loader:
    """A training ``DeviceCIFAR10Loader`` over the data root, batch size
    and recipe ranks of the standard train ``loader``.

    Raises:
        UserError: ``loader`` is a device loader already.
    """
    if isinstance(loader, DeviceTensorLoader):
        raise UserError('--device-loader compares DeviceCIFAR10Loader with '
                        'the standard pipeline, but this config already '
                        'uses the device loader; give a standard config.')
    # A recipe's sampler: the device loader deals the same ranks' draws, so
    # every batch splits into the ghost BatchNorm groups.
    sampler = sampler_of(loader)
    ranks = dict(world_size=sampler.recipe_world_size,
                 batch_size=sampler.batch_size) \
        if isinstance(sampler, VirtualRankSampler) else None
    return deal_virtual_ranks(
        DeviceCIFAR10Loader(loader.dataset.data_root,
                            batch_size=batch_size_of(loader),
                            device=str(device), seed=0), ranks)


# Wall time, or the process's CPU time: on a CPU shared with other jobs the
# CPU time of the measured work does not grow with their load.
CLOCKS = {'wall': time.perf_counter, 'cpu': time.process_time}


def _measure(segment: Segment, figure: Figure, warmup: int, iters: int,
             device: torch.device, clock=time.perf_counter) -> None:
    """Run one segment and add its figures to ``figure`` (seconds by
    ``clock``)."""
    cuda = device.type == 'cuda'
    sync = torch.cuda.synchronize if cuda else (lambda device: None)
    steps = segment()
    try:
        next(steps)
        sync(device)
        if cuda:
            torch.cuda.reset_peak_memory_stats(device)
            start_mib = torch.cuda.memory_allocated(device) / 2**20
        figure.epochs_in_segments += sum(islice(steps, warmup))
        sync(device)
        start = clock()
        figure.epochs_in_segments += sum(islice(steps, iters))
        sync(device)
        seconds = clock() - start
    finally:
        steps.close()
    figure.img_per_s.append(figure.batch_size * iters / seconds)
    if cuda:
        figure.peak_mib.append(
            torch.cuda.max_memory_allocated(device) / 2**20 - start_mib)


@LOOPS.register_module(force=True)
class BenchmarkLoop(CapturedEpochBasedTrainLoop):
    """``run()`` measures instead of training and returns
    ``(figures, notes, epoch_costs, profiles)``: measurement name ->
    :class:`Figure`, caveats, per-epoch cost name -> median seconds
    (``checkpoint MiB``: the file's size; ``steps per epoch``: the loader's
    length), and measurement name -> profile table (with ``profile``).

    Args:
        runner: The Runner.
        dataloader: The train dataloader (or its config).
        max_epochs: The config's, for the parameter schedulers.
        iters: Timed steps per segment.
        warmup: Untimed steps before them.
        repeats: Segments per measurement.
        amp: A key of :data:`AMP_DTYPES`, for the hand-written steps (the
            Runner's autocast is its ``AmpOptimWrapper``).
        device_loader: Also time ``run_iter`` on a ``DeviceCIFAR10Loader``
            over the same images.
        captured: Time the iteration of ``CapturedEpochBasedTrainLoop``
            (``tools/train.py --compile``) instead of the standard one.
        image_size: Train (Runner and hand-written steps) on random square
            images of this size instead of the config's data, through a
            loader of the config's kind (``random_images.py``); None keeps
            the data.
        clock: ``'wall'`` or ``'cpu'`` (the process's CPU time; CPU only).
        profile: After the timing, profile ``iters`` steps of the Runner's
            and the hand-written training step and list this many
            operators (kernels on CUDA) of each (``profile_segment.py``);
            0: no profile.
    """

    def __init__(self, runner, dataloader, max_epochs: int, iters: int,
                 warmup: int, repeats: int, amp: str = 'none',
                 device_loader: bool = False, captured: bool = False,
                 image_size: Optional[int] = None,
                 clock: str = 'wall', profile: int = 0) -> None:
        super().__init__(runner, dataloader, max_epochs)
        self.iters, self.warmup, self.repeats = iters, warmup, repeats
        self.amp_dtype = AMP_DTYPES[amp]
        self.device_loader = device_loader
        self.captured = captured
        self.clock = CLOCKS[clock]
        self.profile = profile
        self.image_shape = IMAGE_SHAPE if image_size is None else (
            3, image_size, image_size)
        if image_size is not None and isinstance(self.dataloader,
                                                 DataLoader):
            self.dataloader = random_standard_loader(self.dataloader,
                                                     image_size)
        elif image_size is not None:
            self.dataloader = random_image_loader(
                self.dataloader, image_size,
                next(runner.model.parameters()).device)

    def run(self) -> Tuple[Dict[str, Figure], List[str], Dict[str, float],
                           Dict[str, str]]:
        self.runner.call_hook('before_train')
        if self.captured:
            self._choose_mode()
        model = self.runner.model
        model = model.module if is_model_wrapper(model) else model
        device = next(model.parameters()).device
        segments, notes = self._segments(model, device)
        figures = {name: Figure(size) for name, (size, _) in segments.items()}
        order = list(segments)
        costs: Dict[str, List[float]] = {}
        for repeat in range(self.repeats):
            first = repeat % len(order)
            for name in order[first:] + order[:first]:
                _measure(segments[name][1], figures[name], self.warmup,
                         self.iters, device, self.clock)
            for name, seconds in epoch_costs(self.runner, self.dataloader,
                                             device).items():
                costs.setdefault(name, []).append(seconds)
        notes += [
            f'{name}: {figure.epochs_in_segments} data epochs began inside '
            'segments (the data has fewer batches than a segment); use more '
            'data or fewer --iters.'
            for name, figure in figures.items() if figure.epochs_in_segments]
        profiles = {
            name: profile_segment(segments[name][1], self.warmup, self.iters,
                                  device, self.profile)
            for name in ('runner_train', 'hand_train')
            if self.profile and name in segments}
        self.runner.call_hook('after_train')
        return figures, notes, {name: statistics.median(values)
                                for name, values in costs.items()}, profiles

    def _segments(self, model, device: torch.device):
        """Measurement name -> (batch size, segment), and notes."""
        runner, notes = self.runner, []
        batch = batch_size_of(self.dataloader)
        segments = {'runner_train': (batch,
                                     runner_train(runner, self.dataloader))}
        if self.device_loader:
            segments['runner_train_device'] = (batch, runner_train(
                runner, device_loader_like(self.dataloader, device)))
        plain = LimitLoss(model, student_only=True,
                          compile=bool(runner.cfg.get('compile')))
        generator = torch.Generator().manual_seed(0)
        # Pixel values do not change the cost of a dense network.
        images = torch.randn(batch, *self.image_shape, generator=generator)
        labels = torch.randint(0, plain.student.head.num_classes, (batch, ),
                               generator=generator)
        train = (runner.optim_wrapper.optimizer, images.to(device),
                 labels.to(device), self.amp_dtype)
        try:
            loss = plain if plain.student is model else LimitLoss(
                model, compile=plain.compile)
            segments['hand_train'] = (batch, hand_train(loss, *train))
        except LimitUnavailable as error:
            notes.append(f'no hand-written limit: {error}.')
        if plain.student is not model:
            segments['hand_student'] = (batch, hand_train(plain, *train))
        if runner.val_loop is not None:
            val_batch = runner.val_loop.dataloader.batch_size
            images = torch.randn(val_batch, *IMAGE_SHAPE, generator=generator)
            segments['runner_eval'] = (val_batch, runner_val(runner))
            # mmengine's ValLoop autocasts for fp16 only.
            segments['hand_eval'] = (val_batch, hand_eval(
                plain.student, images.to(device),
                self.amp_dtype if self.amp_dtype == torch.float16 else None))
        return segments, notes
