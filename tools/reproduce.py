"""Train, evaluate and tabulate the rows of a results table.

    python tools/reproduce.py TABLE [--budget full|short] [--work-root DIR]
        [--data-root DIR] [--jobs N]

TABLE (``configs/tables/*.py``) names its rows: a config, optionally the
row whose final checkpoint is the row's teacher (``model.teacher_ckpt``),
the published top-1, extra ``--cfg-options`` and the ``seeds`` to run it
with. Each row (each seed: ``randomness.seed``) is trained with
tools/train.py in ``WORK_ROOT/<table>/<budget>/<row>[/seed_<S>]``
(teachers first), resumed (``--resume``) when a run there was interrupted,
skipped when it is done, and evaluated with tools/test.py. Written next to
the rows: ``results.md`` (top-1, top-5 (mean and sample standard deviation
over a row's seeds), parameters, MACs, training wall time, the reference
and the difference), ``results.json`` (the same, and every seed's run) and
``curves.png`` (the runs' loss terms and validation top-1,
plot_curves.py).

``--jobs N`` runs up to N rows (or seeds) at once, each in its own process
with its output in ``<its work dir>/reproduce.log`` and ``cpu_count / N``
torch threads; a student starts when its teacher's run has finished, with
that run's final checkpoint (a teacher with seeds: its first seed's).

``--budget short`` trains ``short.epochs`` epochs (lr /10 at half and three
quarters) on the first ``short.train_images`` training images and scores
the first ``short.test_images`` test images (the table sets them), so a
table runs on a CPU in about an hour; the title says so. A table may give
its teacher rows (those another row names as ``teacher``) a longer budget,
``short.teacher_epochs`` (default: ``short.epochs``), so that the teacher
is better than the student trained alone; the title then names both. A row that fails
gets one error line (and the rows that need it as teacher are not run); the
others go on, and the tool exits 1 at the end.
"""
import argparse
import datetime
import json
import os
import os.path as osp
import platform
import statistics
import time
from multiprocessing.connection import wait
from typing import Dict, List, NamedTuple, Optional, Tuple

import torch

import razor_wrn  # noqa: F401  (compat shim, safe loading, registries)
from razor_wrn.apis import curves as plot_curves
from razor_wrn.apis import flops as get_flops
from razor_wrn.apis import test as test_tool
from razor_wrn.apis import train as train_tool
from razor_wrn.cli import (USER_ERRORS, UserError, load_config,
                           read_config_file, run_cli)
from razor_wrn.config_options import ConfigOptionAction
from razor_wrn.script_jobs import job_context, run_script_function


def budget_options(table, budget: str, row: dict) -> List[str]:
    """``--cfg-options`` of a row under a budget: the table's and the row's
    own, plus for ``short`` the cut epochs, schedule and data."""
    options = list(table.get('cfg_options', [])) + list(
        row.get('cfg_options', []))
    if budget == 'short':
        short = table.short
        epochs = short_epochs(table, row)
        options += [
            f'train_cfg.max_epochs={epochs}',
            f'param_scheduler.milestones=[{epochs // 2},{epochs * 3 // 4}]',
            f'train_dataloader.dataset.indices={short.train_images}',
            f'val_dataloader.dataset.indices={short.test_images}',
            f'test_dataloader.dataset.indices={short.test_images}',
            *row.get('short_options', []),
        ]
    return options


def teacher_names(table) -> set:
    """The names of the rows that another row takes as its teacher."""
    return {row['teacher'] for row in table.rows
            if row.get('teacher') is not None}


def short_epochs(table, row: dict) -> int:
    """A row's epochs under the short budget: ``short.teacher_epochs`` for
    a teacher row where the table sets it, else ``short.epochs``.

    A teacher trained as briefly as its students is no better than the
    student alone, and a table of distillation methods then only shows
    that each method runs; a longer teacher budget lets it show what
    distilling from a better network does.
    """
    short = table.short
    if row['name'] in teacher_names(table):
        return short.get('teacher_epochs', short.epochs)
    return short.epochs


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
    checkpoint, metrics_file = _final_files(cfg, work_dir)
    timing = osp.join(work_dir, 'train_seconds.json')
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


def _final_files(cfg, work_dir: str) -> Tuple[str, str]:
    """The final checkpoint and the metrics file of a row's run."""
    return (osp.join(work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth'),
            osp.join(work_dir, 'metrics.json'))


def is_finished(job: 'Job', options: List[str]) -> bool:
    """Whether the job's run was trained and evaluated already."""
    cfg = load_config(job.row['config'], _as_dict(options))
    return all(map(osp.isfile, _final_files(cfg, job.work_dir)))


def _read_json(path: str):
    with open(path) as f:
        return json.load(f)


def _as_dict(options: List[str]) -> dict:
    """``['k=v', ...]`` parsed as the tools parse ``--cfg-options``
    (:class:`ConfigOptionAction`: spaces and quoted commas stay in a value).

    Raises:
        UserError: If an option is not ``KEY=VALUE``.
    """
    parser = _OptionParser()
    parser.add_argument('--cfg-options', nargs='+',
                        action=ConfigOptionAction, default={})
    return parser.parse_args(
        ['--cfg-options', *options] if options else []).cfg_options


class _OptionParser(argparse.ArgumentParser):
    """A parser whose errors are a row's :class:`UserError`, not an exit
    of the whole table."""

    def error(self, message: str):
        raise UserError(message)


def title(table, budget: str) -> str:
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
    parser.add_argument('--jobs', type=_positive_int, default=1,
                        help='rows (and seeds) trained at once, each in its '
                        'own process (default 1: one after the other, in '
                        'this process)')
    return parser.parse_args(argv)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a positive number of jobs; pass e.g. --jobs 2')
    return int(text)


class Job(NamedTuple):
    """One training run of a table: a row under one seed (None: the row
    has no ``seeds``, the config's own)."""
    row: dict
    seed: Optional[int]
    work_dir: str
    options: List[str]
    teacher: Optional[Tuple[str, Optional[int]]]  # the teacher run's key

    @property
    def key(self) -> Tuple[str, Optional[int]]:
        return self.row['name'], self.seed

    @property
    def label(self) -> str:
        seed = '' if self.seed is None else f' (seed {self.seed})'
        return f'row {self.row["name"]!r}{seed}'


def row_seeds(row: dict) -> List[Optional[int]]:
    """A row's seeds, or ``[None]`` when it names none."""
    return list(row['seeds']) if row.get('seeds') is not None else [None]


def table_jobs(table, budget: str, data_root: Optional[str],
               root: str) -> List[Job]:
    """Every run of the table, teachers before their students."""
    jobs = []
    for row in table.rows:
        row = row.to_dict() if hasattr(row, 'to_dict') else dict(row)
        teacher = row.get('teacher')
        teacher_key = None if teacher is None else (teacher, row_seeds(
            next(r for r in table.rows if r['name'] == teacher))[0])
        for seed in row_seeds(row):
            work_dir = osp.join(root, _slug(row['name']))
            options = budget_options(table, budget, row) + data_options(
                data_root)
            if seed is not None:
                work_dir = osp.join(work_dir, f'seed_{seed}')
                options.append(f'randomness.seed={seed}')
            jobs.append(Job(row, seed, work_dir, options, teacher_key))
    return jobs


def _teacher_options(job: Job, runs: Dict[tuple, dict]) -> List[str]:
    """``model.teacher_ckpt`` of a student's finished teacher run.

    Raises:
        UserError: If that run failed.
    """
    if job.teacher is None:
        return []
    if 'error' in runs[job.teacher]:
        raise UserError(f'its teacher {job.teacher[0]!r} failed')
    return [f'model.teacher_ckpt={runs[job.teacher]["checkpoint"]}']


def _error_text(error: Exception) -> str:
    text = str(error) or type(error).__name__
    if not isinstance(error, USER_ERRORS):
        text = f'{type(error).__name__}: {text}'
    return text


def run_in_this_process(jobs: List[Job]) -> Dict[tuple, dict]:
    """Run the jobs one after the other here (``--jobs 1``)."""
    runs: Dict[tuple, dict] = {}
    for job in jobs:
        try:
            runs[job.key] = run_row(job.row, job.work_dir, [
                *job.options, *_teacher_options(job, runs)])
        except Exception as error:  # one line per failed run, then the rest
            runs[job.key] = dict(error=_error_text(error))
            print(f'ERROR: {job.label}: {runs[job.key]["error"]}')
    return runs


def run_in_processes(jobs: List[Job], max_jobs: int) -> Dict[tuple, dict]:
    """Run up to ``max_jobs`` jobs at once, each in its own process (see
    :mod:`razor_wrn.script_jobs`); a student waits for its teacher's run.

    Returns:
        dict: ``{job key: run_row's result or dict(error=one line)}``.
    """
    context = job_context()
    threads = max(1, (os.cpu_count() or 1) // max_jobs)
    waiting, runs = list(jobs), {}
    running: Dict[int, tuple] = {}  # process sentinel -> job, process, pipe
    try:
        while waiting or running:
            for job in list(waiting):
                if len(running) == max_jobs:
                    break
                if job.teacher is not None and job.teacher not in runs:
                    continue  # its teacher is still waiting or running
                waiting.remove(job)
                try:
                    options = [*job.options, *_teacher_options(job, runs)]
                    if is_finished(job, options):
                        # Read here: no process, nothing trained again.
                        runs[job.key] = run_row(job.row, job.work_dir,
                                                options)
                        print(f'finished before: {job.label}', flush=True)
                        continue
                except Exception as error:  # as a job's own error
                    runs[job.key] = dict(error=_error_text(error))
                    print(f'ERROR: {job.label}: {runs[job.key]["error"]}')
                    continue
                log_file = osp.join(job.work_dir, 'reproduce.log')
                receive, send = context.Pipe(duplex=False)
                process = context.Process(
                    target=run_script_function, name=job.label, args=(
                        osp.abspath(__file__), 'run_row',
                        (job.row, job.work_dir, options), log_file, threads,
                        os.getcwd(), send))
                process.start()
                send.close()  # the child holds the only sending end now
                running[process.sentinel] = (job, process, receive)
                print(f'started {job.label} (log: {log_file})', flush=True)
            for sentinel in wait(list(running)):
                job, process, receive = running.pop(sentinel)
                process.join()
                try:
                    status, value = receive.recv()
                except EOFError:  # killed, or died in the interpreter
                    status, value = 'error', (
                        f'its process ended with exit code '
                        f'{process.exitcode}; see '
                        f'{osp.join(job.work_dir, "reproduce.log")}')
                receive.close()
                if status == 'done':
                    runs[job.key] = value
                    print(f'finished {job.label}: top-1 '
                          f'{value["top1"]:.2f}', flush=True)
                else:
                    runs[job.key] = dict(error=value)
                    print(f'ERROR: {job.label}: {value}', flush=True)
    finally:  # an interrupted table: its runs stop (and resume next time)
        for _, process, _ in running.values():
            process.terminate()
            process.join()
    return runs


def row_result(row: dict, runs: Dict[tuple, dict]) -> dict:
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


def main(argv: Optional[List[str]] = None) -> Dict[str, dict]:
    args = parse_args(argv)
    table = load_table(args.table)
    root = osp.join(args.work_root,
                    osp.splitext(osp.basename(args.table))[0], args.budget)
    jobs = table_jobs(table, args.budget, args.data_root, root)
    runs = run_in_this_process(jobs) if args.jobs == 1 else \
        run_in_processes(jobs, args.jobs)
    results = {row['name']: row_result(row, runs) for row in table.rows}
    os.makedirs(root, exist_ok=True)
    with open(osp.join(root, 'results.md'), 'w') as f:
        f.write(markdown(table, args.budget, results))
    with open(osp.join(root, 'results.json'), 'w') as f:
        json.dump(dict(title=title(table, args.budget), rows=[
            dict(name=row['name'], config=row['config'],
                 reference=row.get('reference'), **results[row['name']])
            for row in table.rows]), f, indent=2)
    done = [job for job in jobs if 'error' not in runs[job.key]]
    if done:
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
        seeds = row.get('seeds')
        if seeds is not None and (
                not isinstance(seeds, (list, tuple)) or not seeds
                or not all(isinstance(seed, int) for seed in seeds)
                or len(set(seeds)) != len(seeds)):
            raise UserError(f'{path!r}: row {row["name"]!r} has seeds='
                            f'{seeds!r}; give a list of distinct integers, '
                            'e.g. seeds=[0, 1, 2], or leave it out.')
        if row.get('teacher') not in (None, *seen):
            raise UserError(f'{path!r}: row {row["name"]!r} needs teacher '
                            f'{row["teacher"]!r}, which must be an earlier '
                            'row.')
        seen.add(row['name'])
    if not seen or 'title' not in table or 'short' not in table:
        raise UserError(f'{path!r}: a table needs `title`, `rows` and '
                        '`short`.')
    for key in ('epochs', 'teacher_epochs'):
        epochs = table.short.get(key, 1)
        if not isinstance(epochs, int) or isinstance(epochs, bool) or \
                epochs < 1:
            raise UserError(f'{path!r}: short.{key}={epochs!r}; give a '
                            'positive number of epochs, e.g. '
                            f'short.{key}=12.')
    return table


def _slug(name: str) -> str:
    """A row name as a directory name."""
    return ''.join(c if c.isalnum() or c in '-_.' else '_' for c in name)


if __name__ == '__main__':
    run_cli(main)
