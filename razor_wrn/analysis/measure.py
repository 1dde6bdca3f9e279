"""Timing and peak memory of one segment of training or evaluation steps.

A *segment* is ``warmup`` untimed steps followed by ``iters`` timed ones. On
CUDA the clock is a pair of CUDA events around the timed steps with one
``synchronize`` at each end, so the steps themselves run as asynchronously as
they do in training; on the CPU it is ``time.perf_counter``.

Peak memory is the largest *increase*, over the segment's warmup and timed
steps, of the memory held when the segment starts (activations, gradients,
temporaries; weights and optimizer state already exist then):
``torch.cuda.max_memory_allocated`` on CUDA; on the CPU the peak resident set
size (``VmHWM``, reset through ``/proc/self/clear_refs``) after
``malloc_trim`` has returned the heap's free memory to the system, so memory
cached by ``malloc`` from an earlier segment does not hide the new peak.
Dataloader worker processes are not counted.
"""
import ctypes
import resource
import statistics
import time
from dataclasses import dataclass, field
from typing import List, Optional

import torch

_MIB = 1024 * 1024


def _proc_status_kib(key: str) -> Optional[int]:
    """A ``kB`` field of ``/proc/self/status`` (None off Linux)."""
    try:
        with open('/proc/self/status') as status:
            for line in status:
                if line.startswith(key + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _trim_malloc() -> None:
    """Give the C heap's free pages back to the system (glibc only)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak_rss() -> bool:
    """Make ``VmHWM`` restart from the current RSS; False if the kernel
    does not allow it (then the process-lifetime peak is used)."""
    try:
        with open('/proc/self/clear_refs', 'w') as clear_refs:
            clear_refs.write('5')
        return True
    except OSError:
        return False


class PeakMemory:
    """Peak memory increase over a stretch of code, in MiB.

    Args:
        device: The device whose memory is watched.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._start = 0.0

    def start(self) -> None:
        """Take the current memory as the baseline and reset the peak."""
        if self.device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats(self.device)
            self._start = torch.cuda.memory_allocated(self.device) / _MIB
        else:
            _trim_malloc()
            _reset_peak_rss()
            rss = _proc_status_kib('VmRSS')
            # ru_maxrss (KiB on Linux) when /proc is not there.
            self._start = (rss if rss is not None else resource.getrusage(
                resource.RUSAGE_SELF).ru_maxrss) / 1024

    def stop(self) -> float:
        """Peak memory since :meth:`start` minus the baseline, in MiB."""
        if self.device.type == 'cuda':
            peak = torch.cuda.max_memory_allocated(self.device) / _MIB
        else:
            hwm = _proc_status_kib('VmHWM')
            peak = (hwm if hwm is not None else resource.getrusage(
                resource.RUSAGE_SELF).ru_maxrss) / 1024
        return max(peak - self._start, 0.0)


class SegmentTimer:
    """Wall time of a stretch of device work, synchronised at its ends only.

    Args:
        device: CUDA devices are timed with events, others with
            ``time.perf_counter``.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._cuda = device.type == 'cuda'
        self._t0 = 0.0
        if self._cuda:
            self._events = (torch.cuda.Event(enable_timing=True),
                            torch.cuda.Event(enable_timing=True))

    def start(self) -> None:
        """Wait for queued work, then start the clock."""
        if self._cuda:
            torch.cuda.synchronize(self.device)
            self._events[0].record()
        else:
            self._t0 = time.perf_counter()

    def stop(self) -> float:
        """Stop the clock once queued work is done; return seconds."""
        if self._cuda:
            self._events[1].record()
            torch.cuda.synchronize(self.device)
            return self._events[0].elapsed_time(self._events[1]) / 1000
        return time.perf_counter() - self._t0


@dataclass
class Figure:
    """The runs of one measurement.

    Attributes:
        name: What was measured.
        images_per_step: Images each step processes (the batch size).
        img_per_s: Images per second of each timed segment.
        peak_mem_mib: Peak memory increase of each segment (MiB).
    """

    name: str
    images_per_step: int
    img_per_s: List[float] = field(default_factory=list)
    peak_mem_mib: List[float] = field(default_factory=list)

    @property
    def median_img_per_s(self) -> float:
        """Median over segments: robust to one segment hit by noise."""
        return statistics.median(self.img_per_s)

    @property
    def max_peak_mem_mib(self) -> float:
        """The largest peak memory increase of any segment (MiB)."""
        return max(self.peak_mem_mib)


class Steps:
    """A measurement: something that runs one training or evaluation step
    at a time. Subclasses set ``name`` and implement :attr:`batch_size`
    and :meth:`step`.

    ``begin(n)`` runs before each segment of ``n`` steps and ``end()`` after
    it, both untimed (e.g. to put the model in train or eval mode, or to
    start a new data epoch when the current one has fewer than ``n``
    batches left); ``close()`` once after the last segment.
    """

    name = ''

    @property
    def batch_size(self) -> int:
        """Images one step processes."""
        raise NotImplementedError

    def begin(self, n_steps: int) -> None:
        """Prepare ``n_steps`` steps (untimed)."""

    def step(self) -> None:
        """Run one step."""
        raise NotImplementedError

    def end(self) -> None:
        """Undo what :meth:`begin` changed (untimed)."""

    def close(self) -> None:
        """Release what the measurement holds (e.g. worker processes)."""


def measure_segment(steps: Steps, figure: Figure, warmup: int, iters: int,
                    device: torch.device) -> None:
    """Run ``warmup`` untimed then ``iters`` timed steps of ``steps`` and
    append the segment's img/s and peak memory to ``figure``.

    Args:
        steps: The measurement.
        figure: Where the result goes.
        warmup: Untimed steps first (lazy init, caches, dataloader refill).
        iters: Timed steps.
        device: Device of the work, for the clock and the memory counter.
    """
    timer, memory = SegmentTimer(device), PeakMemory(device)
    steps.begin(warmup + iters)
    try:
        # Before the warmup: on the CPU, faulting in the trimmed pages
        # happens there instead of in the timed steps.
        memory.start()
        for _ in range(warmup):
            steps.step()
        timer.start()
        for _ in range(iters):
            steps.step()
        seconds = timer.stop()
        figure.peak_mem_mib.append(memory.stop())
    finally:
        steps.end()
    figure.img_per_s.append(figure.images_per_step * iters / seconds)
