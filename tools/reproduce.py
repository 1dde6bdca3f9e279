"""Train, evaluate and tabulate the rows of a results table.

    python tools/reproduce.py TABLE [--budget full|short] [--work-root DIR]
        [--data-root DIR]

TABLE (``configs/tables/*.py``) names its rows: a config, optionally the
row whose final checkpoint is the row's teacher (``model.teacher_ckpt``),
the published top-1 and extra ``--cfg-options``. Each row is trained with
tools/train.py in ``WORK_ROOT/<table>/<budget>/<row>`` (teachers first),
resumed (``--resume``) when a run there was interrupted, skipped when it is
done, and evaluated with tools/test.py. Written next to the rows:
``results.md`` (top-1, top-5, parameters, MACs, training wall time, the
reference and the difference), ``results.json`` (the same) and
``curves.png`` (the rows' loss terms and validation top-1, plot_curves.py).

``--budget short`` trains ``short.epochs`` epochs (lr /10 at half and three
quarters) on the first ``short.train_images`` training images and scores
the first ``short.test_images`` test images (the table sets them), so a
table runs on a CPU in about an hour; the title says so. A row that fails
gets one error line (and the rows that need it as teacher are not run); the
others go on, and the tool exits 1 at the end.
"""
import argparse
import datetime
import importlib.util
import json
import os
import os.path as osp
import platform
import time
from typing import Dict, List, Optional

import torch
from mmengine.config import DictAction

import razor_wrn  # noqa: F401  (compat shim, safe loading, registries)
from razor_wrn.cli import (USER_ERRORS, UserError, load_config,
                           read_config_file, run_cli)

TOOLS = osp.dirname(osp.abspath(__file__))


def _tool(relative_path: str):
    """A script of tools/ as a module, to call its ``main(argv)``."""
    path = osp.join(TOOLS, relative_path)
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


train_tool, test_tool = _tool('train.py'), _tool('test.py')
get_flops = _tool('analysis_tools/get_flops.py')
plot_curves = _tool('analysis_tools/plot_curves.py')


def budget_options(table, budget: str, row: dict) -> List[str]:
    """``--cfg-options`` of a row under a budget: the table's and the row's
    own, plus for ``short`` the cut epochs, schedule and data."""
    options = list(table.get('cfg_options', [])) + list(
        row.get('cfg_options', []))
    if budget == 'short':
        short = table.short
        epochs = short.epochs
        options += [
            f'train_cfg.max_epochs={epochs}',
            f'param_scheduler.milestones=[{epochs // 2},{epochs * 3 // 4}]',
            f'train_dataloader.dataset.indices={short.train_images}',
            f'val_dataloader.dataset.indices={short.test_images}',
            f'test_dataloader.dataset.indices={short.test_images}',
            *row.get('short_options', []),
        ]
    return options


def data_options(data_root: Optional[str]) -> List[str]:
    """Point every loader at ``data_root`` (none: the configs' own)."""
    if data_root is None:
        return []
    return [f'{split}_dataloader.dataset.data_root={data_root}'
            for split in ('train', 'val', 'test')]


def run_row(row: dict, work_dir: str, options: List[str]) -> dict:
    """Train (or resume, or skip) and evaluate one row.

    Returns:
        dict: ``top1``, ``top5`` (percent), ``params``, ``macs``,
        ``train_seconds`` (wall time of the training calls that finished,
        summed over resumes; the part of an interrupted call is not known)
        and ``checkpoint`` (the final one).
    """
    cfg = load_config(row['config'], _as_dict(options))
    checkpoint = osp.join(work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')
    timing = osp.join(work_dir, 'train_seconds.json')
    metrics_file = osp.join(work_dir, 'metrics.json')
    if not osp.isfile(checkpoint):
        resume = ['--resume'] if osp.isfile(
            osp.join(work_dir, 'last_checkpoint')) else []
        start = time.perf_counter()
        train_tool.main([row['config'], '--work-dir', work_dir, *resume,
                         '--cfg-options', *options])
        seconds = time.perf_counter() - start
        if resume and osp.isfile(timing):
            seconds += _read_json(timing)
        with open(timing, 'w') as f:
            json.dump(seconds, f)
    if not osp.isfile(metrics_file):
        test_tool.main([row['config'], checkpoint, '--work-dir',
                        osp.join(work_dir, 'test'), '--out', metrics_file,
                        '--cfg-options', *options])
    metrics = _read_json(metrics_file)
    classifiers = get_flops.classifier_configs(cfg)
    size = get_flops.complexity(
        classifiers.get('student', classifiers.get('model')), (32, 32))
    return dict(top1=metrics['accuracy/top1'], top5=metrics['accuracy/top5'],
                params=size.params, macs=size.macs,
                train_seconds=_read_json(timing) if osp.isfile(timing)
                else None, checkpoint=checkpoint)


def _read_json(path: str):
    with open(path) as f:
        return json.load(f)


def _as_dict(options: List[str]) -> dict:
    """``['k=v', ...]`` parsed as ``--cfg-options`` parses them."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction, default={})
    return parser.parse_args(['--o', *options] if options else []).o


def title(table, budget: str) -> str:
    """The table's title, the budget, the date and the machine."""
    text = table.title
    if budget == 'short':
        short = table.short
        text += (f' (short budget: {short.epochs} epochs on the first '
                 f'{short.train_images:,} training images, scored on the '
                 f'first {short.test_images:,} test images; not comparable '
                 'with the reference)')
    device = (torch.cuda.get_device_name() if torch.cuda.is_available() else
              f'{os.cpu_count()}-core {platform.machine()} CPU')
    return f'{text}\n\n{datetime.date.today().isoformat()}, {device}.'


def markdown(table, budget: str, results: Dict[str, dict]) -> str:
    """The results as a markdown table under its title."""
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
            cells = [f'{result["top1"]:.2f}', f'{result["top5"]:.2f}',
                     f'{result["params"] / 1e6:.2f} M',
                     f'{result["macs"] / 1e6:.1f} M',
                     f'{seconds / 60:.1f} min' if seconds is not None else '',
                     '' if reference is None else f'{reference:.2f}', diff]
        lines.append('| ' + ' | '.join(
            [row['name'], f'`{row["config"]}`', *cells]) + ' |')
    return '\n'.join(lines) + '\n'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train, evaluate and tabulate a results table')
    parser.add_argument('table', help='table file, e.g. '
                        'configs/tables/mmrazor_cifar10.py')
    parser.add_argument('--budget', choices=['full', 'short'], default='full',
                        help='the configs as they are, or the short cut')
    parser.add_argument('--work-root', default='work_dirs/tables',
                        help='where the runs and results go')
    parser.add_argument('--data-root', help='CIFAR-10 data root for all runs')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Dict[str, dict]:
    args = parse_args(argv)
    table = load_table(args.table)
    root = osp.join(args.work_root,
                    osp.splitext(osp.basename(args.table))[0], args.budget)
    results: Dict[str, dict] = {}
    for row in table.rows:
        name = row['name']
        teacher = row.get('teacher')
        options = budget_options(table, args.budget, row) + data_options(
            args.data_root)
        try:
            if teacher is not None:
                if 'error' in results[teacher]:
                    raise UserError(f'its teacher {teacher!r} failed')
                options.append(
                    f'model.teacher_ckpt={results[teacher]["checkpoint"]}')
            results[name] = run_row(row, osp.join(root, _slug(name)), options)
        except Exception as error:  # one line per failed row, then the rest
            message = str(error) or type(error).__name__
            if not isinstance(error, USER_ERRORS):
                message = f'{type(error).__name__}: {message}'
            results[name] = dict(error=message)
            print(f'ERROR: row {name!r}: {results[name]["error"]}')
    os.makedirs(root, exist_ok=True)
    with open(osp.join(root, 'results.md'), 'w') as f:
        f.write(markdown(table, args.budget, results))
    with open(osp.join(root, 'results.json'), 'w') as f:
        json.dump(dict(title=title(table, args.budget), rows=[
            dict(name=row['name'], config=row['config'],
                 reference=row.get('reference'), **results[row['name']])
            for row in table.rows]), f, indent=2)
    done = [row['name'] for row in table.rows
            if 'error' not in results[row['name']]]
    if done:
        plot_curves.main([*[osp.join(root, _slug(name)) for name in done],
                          '--labels', *done,
                          '--out', osp.join(root, 'curves.png')])
    print(f'Wrote {osp.join(root, "results.md")}, results.json and '
          'curves.png')
    failed = [name for name, result in results.items() if 'error' in result]
    if failed:
        raise UserError(f'{len(failed)} row(s) failed: {failed}; fix them and '
                        'rerun (finished rows are skipped).')
    return results


def load_table(path: str):
    """Read a table file and check that each teacher is an earlier row.

    Raises:
        UserError: If the file is missing or broken, or a row is malformed.
    """
    table = read_config_file(path, 'table')
    seen = set()
    for row in table.get('rows', []):
        if 'name' not in row or 'config' not in row:
            raise UserError(f'{path!r}: every row needs `name` and `config`'
                            f', got {dict(row)}.')
        if row.get('teacher') not in (None, *seen):
            raise UserError(f'{path!r}: row {row["name"]!r} needs teacher '
                            f'{row["teacher"]!r}, which must be an earlier '
                            'row.')
        seen.add(row['name'])
    if not seen or 'title' not in table or 'short' not in table:
        raise UserError(f'{path!r}: a table needs `title`, `rows` and '
                        '`short`.')
    return table


def _slug(name: str) -> str:
    """A row name as a directory name."""
    return ''.join(c if c.isalnum() or c in '-_.' else '_' for c in name)


if __name__ == '__main__':
    run_cli(main)
