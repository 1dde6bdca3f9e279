"""``profile_segment``: only the asked-for steps are profiled (not the
warm-up), and the head's totals are per step."""
import re

import pytest
import torch

from razor_wrn.analysis.profile_segment import profile_segment


def _segment(device: torch.device, calls: list):
    """A segment whose every step runs 3 matrix products and 1 sum."""
    a = torch.randn(64, 64, device=device)

    def segment():
        yield False
        while True:
            calls.append(1)
            for _ in range(3):
                a.mm(a)
            a.sum()
            yield False

    return segment


def _calls(table: str, name: str) -> int:
    """'# of Calls' (the last column) of the operator ``name``'s row."""
    row, = [line for line in table.splitlines()
            if line.split() and line.split()[0] == name]
    return int(row.split()[-1])


def test_only_the_profiled_steps_are_counted():
    calls = []
    report = profile_segment(_segment(torch.device('cpu'), calls),
                             warmup=2, steps=4, device=torch.device('cpu'),
                             rows=10)
    assert len(calls) == 6  # 2 warm-up + 4 profiled, and no more
    head = report.splitlines()[0]
    match = re.fullmatch(r'([\d.]+) ms of CPU time in (\d+) operator calls '
                         r'per step \(nested ones included\) \(4 steps '
                         r'profiled\)', head)
    assert match and float(match[1]) > 0
    # Per step: 3 mm and 1 sum (with what they call inside, at least 4).
    assert int(match[2]) >= 4
    assert _calls(report, 'aten::mm') == 12
    assert _calls(report, 'aten::sum') == 4


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_kernels_are_counted_on_cuda():
    calls = []
    cuda = torch.device('cuda')
    report = profile_segment(_segment(cuda, calls), warmup=1, steps=3,
                             device=cuda, rows=10)
    head = report.splitlines()[0]
    match = re.fullmatch(r'([\d.]+) ms of device time in (\d+) kernels and '
                         r'copies per step \(3 steps profiled\)', head)
    assert match and float(match[1]) > 0
    # 3 products and a sum (a reduction may take 2 kernels).
    assert 4 <= int(match[2]) <= 6
    # Kernels only: no CPU operator (aten::mm) repeats their time.
    assert 'aten::' not in report
