"""The benchmark's result: its figures, the ratios between them, and the
text table the tool prints."""
from dataclasses import dataclass, field
from typing import Dict, List

from .measure import Figure

LABELS = {
    'runner_train': 'Runner train iteration',
    'runner_train_device': 'Runner train iteration, device loader',
    'hand_train': 'hand-written train step (limit)',
    'hand_student': 'hand-written student-only step',
    'runner_eval': 'Runner val iteration',
    'hand_eval': 'hand-written eval forward (limit)',
}
# name: (numerator, denominator) of img/s; a ratio is reported when both
# exist. The KD/plain ratios are step *time* ratios (how many plain steps
# one KD step costs), hence plain img/s over KD img/s.
RATIOS = {
    'Runner/limit train': ('runner_train', 'hand_train'),
    'KD/plain time (hand)': ('hand_student', 'hand_train'),
    'KD/plain time (Runner)': ('hand_student', 'runner_train'),
    'Runner/limit eval': ('runner_eval', 'hand_eval'),
    'device/standard loader': ('runner_train_device', 'runner_train'),
}


@dataclass
class BenchmarkResult:
    """What a benchmark measured.

    Attributes:
        settings: Conditions of the run (device, threads, batch, data...).
        figures: Measurement name (:data:`LABELS`) to its runs.
        ratios: Ratio name (:data:`RATIOS`) to the ratio of the two
            figures' median img/s.
        notes: Caveats found during the run.
    """

    settings: Dict[str, str]
    figures: Dict[str, Figure]
    ratios: Dict[str, float]
    notes: List[str] = field(default_factory=list)


def ratios_of(figures: Dict[str, Figure]) -> Dict[str, float]:
    """Every ratio of :data:`RATIOS` whose two figures were measured: the
    quotient of their median img/s."""
    return {
        name: figures[top].median_img_per_s / figures[bottom].median_img_per_s
        for name, (top, bottom) in RATIOS.items()
        if top in figures and bottom in figures
    }


def format_result(result: BenchmarkResult) -> str:
    """The settings, a table of the figures and the ratios, as text."""
    lines = [f'{key:<16} {value}' if len(key) <= 16 else f'{key}: {value}'
             for key, value in result.settings.items()]
    lines.append('')
    lines.append(f'{"measurement":<36}{"img/s":>9}  {"peak +MiB":>9}  '
                 'runs (img/s)')
    for name, figure in result.figures.items():
        runs = ' '.join(f'{value:.1f}' for value in figure.img_per_s)
        lines.append(f'{LABELS[name]:<36}{figure.median_img_per_s:>9.1f}  '
                     f'{figure.max_peak_mem_mib:>9.1f}  {runs}')
    lines.append('')
    for name, ratio in result.ratios.items():
        top, bottom = RATIOS[name]
        lines.append(
            f'{name:<24}{ratio:>6.3f}  = '
            f'{result.figures[top].median_img_per_s:.1f} / '
            f'{result.figures[bottom].median_img_per_s:.1f}')
    lines.extend(f'note: {note}' for note in result.notes)
    return '\n'.join(lines)
