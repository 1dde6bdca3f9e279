"""A table's results: each row's from its runs (the mean and deviation over
its seeds), the title that states the budget and the machine, and the
``results.md`` and ``results.json`` written next to the runs."""
import datetime
import json
import os
import os.path as osp
import platform
import statistics
from typing import Dict

import torch
from mmengine.config import Config

from .jobs import RunKey
from .table import row_seeds, teacher_names


def row_result(row: dict, runs: Dict[RunKey, dict]) -> dict:
    """A row's result: its run's, or for several seeds the mean of top-1,
    top-5 and train time, the sample standard deviations ``top1_std`` and
    ``top5_std`` (None for one seed), and every run under ``seeds``; the
    first seed's checkpoint. A failed seed fails the row."""
    seeds = row_seeds(row)
    if seeds == [None]:
        return runs[row['name'], None]
    seed_runs = {seed: runs[row['name'], seed] for seed in seeds}
    failed = [f'seed {seed}: {run["error"]}'
              for seed, run in seed_runs.items() if 'error' in run]
    if failed:
        return dict(error='; '.join(failed))
    result = dict(seed_runs[seeds[0]], seeds={
        str(seed): run for seed, run in seed_runs.items()})
    for key in ('top1', 'top5'):
        values = [run[key] for run in seed_runs.values()]
        result[key] = statistics.mean(values)
        result[f'{key}_std'] = statistics.stdev(values) \
            if len(values) > 1 else None
    times = [run['train_seconds'] for run in seed_runs.values()
             if run['train_seconds'] is not None]
    result['train_seconds'] = statistics.mean(times) if times else None
    return result


def title(table: Config, budget: str) -> str:
    """The table's title, the budget, the date and the machine."""
    text = table.title
    if budget == 'short':
        short = table.short
        teacher_epochs = short.get('teacher_epochs', short.epochs)
        # Both budgets, so a reader sees that the teacher trained longer.
        teacher_text = (f' (teacher rows: {teacher_epochs})'
                        if teacher_names(table) and
                        teacher_epochs != short.epochs else '')
        text += (f' (short budget: {short.epochs} epochs{teacher_text} on '
                 f'the first {short.train_images:,} training images, '
                 'scored on the '
                 f'first {short.test_images:,} test images; not comparable '
                 'with the reference)')
    device = (torch.cuda.get_device_name() if torch.cuda.is_available() else
              f'{os.cpu_count()}-core {platform.machine()} CPU')
    return f'{text}\n\n{datetime.date.today().isoformat()}, {device}.'


def markdown(table: Config, budget: str, results: Dict[str, dict]) -> str:
    """The results (``{row name: row_result}``) as a markdown table under
    its title."""
    lines = [f'### {title(table, budget)}', '',
             '| row | config | top-1 | top-5 | params | MACs | train time '
             '| reference top-1 | difference |',
             '|---|---|---|---|---|---|---|---|---|']
    for row in table.rows:
        result = results[row['name']]
        reference = row.get('reference')
        if 'error' in result:
            cells = [f'failed: {result["error"]}'] + [''] * 6
        else:
            diff = (f'{result["top1"] - reference:+.2f}'
                    if reference is not None else '')
            seconds = result['train_seconds']
            cells = [_mean_std(result, 'top1'), _mean_std(result, 'top5'),
                     f'{result["params"] / 1e6:.2f} M',
                     f'{result["macs"] / 1e6:.1f} M',
                     f'{seconds / 60:.1f} min' if seconds is not None else '',
                     '' if reference is None else f'{reference:.2f}', diff]
        seeds = row_seeds(row)
        name = row['name'] if len(seeds) == 1 else \
            f'{row["name"]} ({len(seeds)} seeds)'
        lines.append('| ' + ' | '.join(
            [name, f'`{row["config"]}`', *cells]) + ' |')
    if any(len(row_seeds(row)) > 1 for row in table.rows):
        lines += ['', 'Rows with several seeds: mean +- sample standard '
                  'deviation over the seeds, train time per seed (mean).']
    return '\n'.join(lines) + '\n'


def _mean_std(result: dict, key: str) -> str:
    """``'93.10'``, or ``'93.10 +- 0.12'`` for a row with several seeds."""
    std = result.get(f'{key}_std')
    return f'{result[key]:.2f}' + ('' if std is None else f' +- {std:.2f}')


def write_results(table: Config, budget: str, results: Dict[str, dict],
                  root: str) -> None:
    """Write ``results.md`` (:func:`markdown`) and ``results.json`` (the
    title and each row's config, reference and result) in ``root``.

    Raises:
        OSError: If ``root`` cannot be created or written.
    """
    os.makedirs(root, exist_ok=True)
    with open(osp.join(root, 'results.md'), 'w') as f:
        f.write(markdown(table, budget, results))
    with open(osp.join(root, 'results.json'), 'w') as f:
        json.dump(dict(title=title(table, budget), rows=[
            dict(name=row['name'], config=row['config'],
                 reference=row.get('reference'), **results[row['name']])
            for row in table.rows]), f, indent=2)
