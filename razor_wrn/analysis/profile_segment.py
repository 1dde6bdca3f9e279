"""Where a benchmark segment's time goes: PyTorch's profiler over a few of
its steps, as a table of the operators (on CUDA, the kernels) that took
the most time, headed by the totals per step.

On CUDA the table lists the device's kernels and memory copies by their
time: for a small network the step's length is the sum of many short
kernels, and this names them (a replayed CUDA graph's kernels too). On a
CPU it lists the operators by their own CPU time.
"""
from itertools import islice
from typing import Callable, Iterator

import torch
from torch.autograd import DeviceType
from torch.autograd.profiler_util import EventList
from torch.profiler import ProfilerActivity, profile


def profile_segment(segment: Callable[[], Iterator[bool]], warmup: int,
                    steps: int, device: torch.device, rows: int) -> str:
    """Profile ``steps`` steps of one segment after ``warmup`` untimed ones.

    Args:
        segment: A segment generator factory (``benchmark_loop.py``): it
            prepares, yields, then runs one step per ``next()``.
        warmup: Steps run before profiling (compilation, cuDNN's search).
        steps: Steps profiled (>= 1).
        device: Where the segment runs.
        rows: Operators or kernels listed.

    Returns:
        str: A line of totals per step, then the profiler's table.
    """
    cuda = device.type == 'cuda'
    activities = [ProfilerActivity.CPU] + (
        [ProfilerActivity.CUDA] if cuda else [])
    run = segment()
    try:
        next(run)
        for _ in islice(run, warmup):
            pass
        if cuda:
            torch.cuda.synchronize(device)
        with profile(activities=activities) as profiler:
            for _ in islice(run, steps):
                pass
            if cuda:
                torch.cuda.synchronize(device)
    finally:
        run.close()
    events = profiler.key_averages()
    if cuda:
        # The device's own rows only: an operator's row repeats its
        # kernels' time.
        events = EventList([event for event in events
                            if event.device_type == DeviceType.CUDA])
        total_us = sum(event.self_device_time_total for event in events)
        launches = sum(event.count for event in events)
        head = (f'{total_us / 1000 / steps:.2f} ms of device time in '
                f'{launches / steps:.0f} kernels and copies per step')
        sort_by = 'self_device_time_total'
    else:
        total_us = sum(event.self_cpu_time_total for event in events)
        calls = sum(event.count for event in events)
        head = (f'{total_us / 1000 / steps:.2f} ms of CPU time in '
                f'{calls / steps:.0f} operator calls per step (nested '
                'ones included)')
        sort_by = 'self_cpu_time_total'
    table = events.table(sort_by=sort_by, row_limit=rows)
    return f'{head} ({steps} steps profiled)\n{table}'
