"""Training curves of several runs on one figure, from mmengine's logs:
what ``tools/analysis_tools/plot_curves.py`` runs, and what
``tools/reproduce.py`` draws.

A run dir is a work dir: every ``<timestamp>/vis_data/scalars.json`` in it is
read in time order, so a run resumed with ``--resume`` gives one curve, a
later log replacing what an interrupted one logged for the same step. One
panel per key: training scalars (e.g. ``loss``, ``loss_student``,
``loss_kd``; the LoggerHook's window averages) against the iteration,
validation scalars (``accuracy/top1``) against the epoch. Without
``--keys``: every ``loss*`` key of any run, then ``accuracy/top1``.
"""
import argparse
import glob
import json
import os.path as osp
from typing import Dict, List, NamedTuple, Optional, Sequence

import matplotlib

matplotlib.use('Agg')  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from razor_wrn.cli import UserError  # noqa: E402
from razor_wrn.tool_parser import ToolParser


class Curve(NamedTuple):
    """One logged scalar of one run, in step order."""
    steps: List[int]  # iteration (training scalars) or epoch (validation)
    values: List[float]
    per_epoch: bool  # logged by validation, once per epoch


def scalar_files(run_dir: str) -> List[str]:
    """The ``scalars.json`` files of a work dir, oldest first.

    Raises:
        UserError: If ``run_dir`` holds none.
    """
    files = sorted(glob.glob(osp.join(run_dir, '*', 'vis_data',
                                      'scalars.json')))
    if not files:
        raise UserError(
            f'No <timestamp>/vis_data/scalars.json in {run_dir!r}: pass the '
            'work dir of a tools/train.py run.')
    return files


def read_curves(run_dir: str) -> Dict[str, Curve]:
    """Every scalar logged in a work dir, merged over its resumed runs.

    Rows with an ``iter`` field are training rows (their ``step`` is the
    iteration), the others validation rows (their ``step`` is the epoch).

    Args:
        run_dir (str): A tools/train.py work dir.

    Returns:
        dict[str, Curve]: By scalar name, e.g. ``'loss'``,
        ``'accuracy/top1'``; bookkeeping fields (``epoch``, ``iter``,
        ``step``) are not curves.

    Raises:
        UserError: If the dir has no logs or a log line is not JSON.
    """
    points: Dict[str, Dict[int, float]] = {}
    per_epoch: Dict[str, bool] = {}
    for path in scalar_files(run_dir):
        with open(path) as f:
            for number, line in enumerate(f, 1):
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise UserError(f'{path}:{number} is not JSON ({error})'
                                    '; was the run killed while writing?')
                validation = 'iter' not in row
                for key, value in row.items():
                    if key in ('epoch', 'iter', 'step'):
                        continue
                    points.setdefault(key, {})[row['step']] = value
                    per_epoch[key] = validation
    return {
        key: Curve(sorted(steps), [steps[s] for s in sorted(steps)],
                   per_epoch[key])
        for key, steps in points.items()
    }


def default_keys(runs: Sequence[Dict[str, Curve]]) -> List[str]:
    """Every ``loss*`` key of any run (first seen first), then
    ``accuracy/top1``."""
    keys = []
    for curves in runs:
        keys += [k for k in curves if k.startswith('loss') and k not in keys]
    return keys + ['accuracy/top1']


def plot(runs: Dict[str, Dict[str, Curve]], keys: Sequence[str],
         out: str) -> None:
    """Draw one panel per key, one line per run that logged it.

    Args:
        runs (dict[str, dict[str, Curve]]): Curves by run label.
        keys (Sequence[str]): Scalars to draw, one panel each.
        out (str): Image file to write (format from its extension).

    Raises:
        UserError: If no run logged one of ``keys``.
    """
    columns = min(len(keys), 3)
    rows = -(-len(keys) // columns)
    figure, axes = plt.subplots(rows, columns, squeeze=False,
                                figsize=(5 * columns, 3.6 * rows))
    # A run keeps its colour in every panel, also where others are missing.
    colours = dict(zip(runs, plt.rcParams['axes.prop_cycle'].by_key()[
        'color'] * len(runs)))
    for ax, key in zip(axes.flat, keys):
        drawn = [(label, curves[key]) for label, curves in runs.items()
                 if key in curves]
        if not drawn:
            raise UserError(f'No run logged {key!r}; keys logged: '
                            f'{sorted(set().union(*runs.values()))}.')
        for label, curve in drawn:
            ax.plot(curve.steps, curve.values, label=label,
                    color=colours[label],
                    marker='o' if curve.per_epoch else None, markersize=3)
        ax.set_title(key)
        ax.set_xlabel('epoch' if drawn[0][1].per_epoch else 'iteration')
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in axes.flat[len(keys):]:
        ax.set_visible(False)
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = ToolParser(
        description='Plot the loss terms and validation top-1 of runs')
    parser.add_argument('run_dirs', nargs='+', metavar='RUN_DIR',
                        help='work dirs of tools/train.py runs')
    parser.add_argument(
        '--keys', nargs='+',
        help='scalars to plot (default: every loss* key, accuracy/top1)')
    parser.add_argument(
        '--labels', nargs='+',
        help='legend names, one per RUN_DIR (default: the dir names)')
    parser.add_argument('--out', required=True, help='image to write (.png)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Dict[str, Dict[str, Curve]]:
    args = parse_args(argv)
    labels = args.labels or [
        osp.basename(osp.normpath(d)) for d in args.run_dirs]
    if len(labels) != len(args.run_dirs) or len(set(labels)) != len(labels):
        raise UserError(f'--labels {labels}: give one distinct name per '
                        'RUN_DIR.')
    runs = {label: read_curves(d) for label, d in zip(labels, args.run_dirs)}
    plot(runs, args.keys or default_keys(list(runs.values())), args.out)
    print(f'Wrote {args.out}')
    return runs
