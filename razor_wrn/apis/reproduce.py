"""What ``tools/reproduce.py`` runs: its command line (:func:`parse_args`)
and a table's run (:func:`main`); the pieces are :mod:`razor_wrn.reproduce`.

Here, not in the script, so that the table's runs can be called by import
(a ``--jobs`` process imports :func:`razor_wrn.reproduce.row.run_row` by
name).
"""
import argparse
import os.path as osp
from typing import Dict, List, Optional

import razor_wrn  # noqa: F401  (compat shim, safe loading, registries)
from razor_wrn.cli import UserError
from razor_wrn.reproduce import (load_table, row_result, run_in_processes,
                                 run_in_this_process, table_jobs,
                                 write_results)
from razor_wrn.tool_parser import ToolParser


# What tools/reproduce.py says after Ctrl-C.
ON_INTERRUPT = ('Finished rows are kept; run the same command again to train '
                'only what is unfinished (an interrupted row resumes from its '
                'newest checkpoint).')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = ToolParser(
        description='Train, evaluate and tabulate a results table')
    parser.add_argument('table', help='table file, e.g. '
                        'configs/tables/mmrazor_cifar10.py')
    parser.add_argument('--budget', choices=['full', 'short'], default='full',
                        help='the configs as they are, or the short cut')
    parser.add_argument('--work-root', default='work_dirs/tables',
                        help='where the runs and results go')
    parser.add_argument('--data-root', help='CIFAR-10 data root for all runs')
    parser.add_argument('--jobs', type=_positive_int, default=1,
                        help='rows (and seeds) trained at once, each in its '
                        'own process (default 1: one after the other, in '
                        'this process)')
    parser.add_argument(
        '--compile', action='store_true',
        help='train every row as tools/train.py --compile does (each step '
        'a replayed CUDA graph where it can be recorded)')
    parser.add_argument(
        '--amp', choices=['fp16', 'bf16'],
        help='train every row in mixed precision, as tools/train.py --amp '
        'does (fp16 needs a GPU)')
    parser.add_argument(
        '--channels-last', action='store_true',
        help='train every row in channels-last memory format, as '
        'tools/train.py --channels-last does')
    return parser.parse_args(argv)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a positive number of jobs; pass e.g. --jobs 2')
    return int(text)


def train_args(args: argparse.Namespace) -> List[str]:
    """The tools/train.py arguments every row trains with, from the fast
    path flags; the evaluation takes none of them."""
    flags = ['--compile'] if args.compile else []
    if args.amp:
        flags += ['--amp', args.amp]
    if args.channels_last:
        flags.append('--channels-last')
    return flags


def main(argv: Optional[List[str]] = None) -> Dict[str, dict]:
    """Train, evaluate and tabulate a table (see tools/reproduce.py).

    Returns:
        dict: ``{row name: its result}`` (:func:`~razor_wrn.reproduce.
        results.row_result`).

    Raises:
        UserError: If the table is malformed, or a row failed (after every
            other row ran and the results were written).
    """
    args = parse_args(argv)
    table = load_table(args.table)
    root = osp.join(args.work_root,
                    osp.splitext(osp.basename(args.table))[0], args.budget)
    jobs = table_jobs(table, args.budget, args.data_root, root,
                      train_args(args))
    runs = run_in_this_process(jobs) if args.jobs == 1 else \
        run_in_processes(jobs, args.jobs)
    results = {row['name']: row_result(row, runs) for row in table.rows}
    write_results(table, args.budget, results, root)
    done = [job for job in jobs if 'error' not in runs[job.key]]
    if done:
        # Imported here: matplotlib costs 0.3 s, and only drawing needs it.
        from razor_wrn.apis import curves as plot_curves
        plot_curves.main([
            *[job.work_dir for job in done], '--labels',
            *[job.row['name'] + ('' if job.seed is None else
                                 f' (seed {job.seed})') for job in done],
            '--out', osp.join(root, 'curves.png')])
    print(f'Wrote {osp.join(root, "results.md")}, results.json and '
          'curves.png')
    failed = [name for name, result in results.items() if 'error' in result]
    if failed:
        raise UserError(f'{len(failed)} row(s) failed: {failed}; fix them and '
                        'rerun (finished rows are skipped).')
    return results
