"""reproduce.py --jobs 2 on a teacher and a KD student with two seeds:
each run in its own process, the students together after their teacher,
the mean and deviation over the seeds, and a rerun after an interruption
that trains only what is unfinished.

The tool forks its runs from a forkserver that imports torch and the
OpenMMLab packages once (seconds); here they are forked from the test
process itself, which has imported them already, so the table takes a few
seconds. That the forkserver can start a run (the target importable by
name, the arguments picklable) is tested on its own. (A file of its own:
pytest-xdist gives each file one worker.)
"""
import contextlib
import importlib
import io
import json
import multiprocessing
import os
import pickle
from pathlib import Path

import pytest

from conftest import Forked, load_tool
from razor_wrn import script_jobs
from razor_wrn.reproduce import load_table, processes, table_jobs

reproduce = load_tool('reproduce.py')
TINY = ['backbone.depth=10', 'backbone.widen_factor=1']


def _seeds_table(path: Path, cfg_options: list) -> str:
    """A teacher and a KD student with two seeds."""
    rows = [
        dict(name='teacher',
             config='configs/vanilla/wrn40-w2_b128x1_cifar10.py',
             cfg_options=[f'model.{o}' for o in TINY]),
        dict(name='KD student', teacher='teacher', seeds=[0, 1],
             config='configs/kd/wrn40-2_to_wrn16-2.py',
             cfg_options=[f'model.{part}.{o}' for part in
                          ('architecture', 'teacher') for o in TINY]),
    ]
    path.write_text(f'title = "Seeds"\ncfg_options = {cfg_options!r}\n'
                    'short = dict(epochs=2, train_images=20, '
                    f'test_images=10)\nrows = {rows!r}\n')
    return str(path)


def _forked_jobs(patch: pytest.MonkeyPatch) -> None:
    """Fork the runs from this process, each on one torch thread (its
    OpenMP pool would not survive the fork with more)."""
    patch.setattr(processes, 'job_context',
                  lambda: multiprocessing.get_context('fork'))
    patch.setattr(processes.os, 'cpu_count', lambda: 2)


def _training_logs(work_dir: Path) -> list:
    return sorted(path.name for path in work_dir.glob('*/*.log'))


@pytest.fixture(scope='module')
def parallel_run(tmp_path_factory, make_tiny_cifar10, data_options):
    """The seeds table run with --jobs 2; ``output``: what the tool
    printed (the children's output goes to their reproduce.log)."""
    folder = tmp_path_factory.mktemp('parallel')
    data = make_tiny_cifar10(per_class_train=4, per_class_test=2)
    table = _seeds_table(folder / 'seeds.py', data_options(data, 10))
    # --channels-last: a training argument that must cross to the jobs.
    argv = [table, '--budget', 'short', '--work-root', str(folder / 'runs'),
            '--jobs', '2', '--channels-last']
    output = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(
            output):
        _forked_jobs(patch)
        results = reproduce.main(argv)
    return dict(argv=argv, results=results, output=output.getvalue(),
                root=folder / 'runs' / 'seeds' / 'short')


def test_jobs_run_students_together_after_their_teacher(parallel_run):
    events = [line.split(':')[0].split(' (log')[0]
              for line in parallel_run['output'].splitlines()
              if line.startswith(('started', 'finished'))]
    assert events[:4] == [
        "started row 'teacher'", "finished row 'teacher'",
        "started row 'KD student' (seed 0)",
        "started row 'KD student' (seed 1)"]
    # The students run at once, so they finish in either order.
    assert sorted(events[4:]) == ["finished row 'KD student' (seed 0)",
                                  "finished row 'KD student' (seed 1)"]
    root = parallel_run['root']
    for seed in (0, 1):
        work_dir = root / 'KD_student' / f'seed_{seed}'
        dumped = (work_dir / 'wrn40-2_to_wrn16-2.py').read_text()
        assert f'seed={seed}' in dumped
        assert str(root / 'teacher' / 'epoch_2.pth') in dumped
        log = (work_dir / 'reproduce.log').read_text()
        assert 'Epoch(train) [2][2/2]' in log
        assert 'Model in channels-last (NHWC) memory format.' in log


def test_a_row_with_seeds_shows_their_mean_and_deviation(parallel_run):
    root, student = parallel_run['root'], parallel_run['results'][
        'KD student']
    top1 = [json.loads((root / 'KD_student' / f'seed_{seed}' /
                        'metrics.json').read_text())['accuracy/top1']
            for seed in (0, 1)]
    assert student['top1'] == pytest.approx((top1[0] + top1[1]) / 2)
    # The sample standard deviation of two values.
    assert student['top1_std'] == pytest.approx(
        abs(top1[0] - top1[1]) / 2 ** 0.5)
    assert [run['top1'] for run in student['seeds'].values()] == top1
    markdown = (root / 'results.md').read_text()
    assert (f'| KD student (2 seeds) | `configs/kd/wrn40-2_to_wrn16-2.py` | '
            f'{student["top1"]:.2f} +- {student["top1_std"]:.2f} |') in (
                markdown)
    assert 'mean +- sample standard deviation over the seeds' in markdown
    saved = json.loads((root / 'results.json').read_text())
    assert saved['rows'][1]['top1_std'] == student['top1_std']


def test_an_interrupted_parallel_table_resumes_only_what_is_unfinished(
        parallel_run):
    root = parallel_run['root']
    work_dirs = [root / 'teacher', *(root / 'KD_student' / f'seed_{seed}'
                                     for seed in (0, 1))]
    before = [_training_logs(work_dir) for work_dir in work_dirs]
    # Seed 1 interrupted after its first epoch.
    seed_1 = work_dirs[2]
    (seed_1 / 'epoch_2.pth').unlink()
    (seed_1 / 'metrics.json').unlink()
    (seed_1 / 'last_checkpoint').write_text(str(seed_1 / 'epoch_1.pth'))
    output = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(
            output):
        _forked_jobs(patch)
        results = reproduce.main(parallel_run['argv'])
    # Only seed 1 gets a process.
    assert [line for line in output.getvalue().splitlines()
            if line.startswith(('started', 'finished'))][:2] == [
        "finished before: row 'teacher'",
        "finished before: row 'KD student' (seed 0)"]
    assert output.getvalue().count('started') == 1
    after = [_training_logs(work_dir) for work_dir in work_dirs]
    assert after[:2] == before[:2]  # the teacher and seed 0: not re-run
    assert len(after[2]) == len(before[2]) + 1
    newest = sorted(seed_1.glob('*/*.log'))[-1].read_text()
    assert 'resumed epoch: 1, iter: 2' in newest
    assert results['teacher'] == parallel_run['results']['teacher']
    assert (seed_1 / 'epoch_2.pth').is_file()



def test_the_forkserver_can_start_a_run(tmp_path):
    """What crosses to a forkserver child is pickled: the target must be
    importable by name, the job's function named by module and the job's
    arguments plain data; the forkserver preloads that module."""
    context = script_jobs.job_context()
    assert context.get_start_method() == 'forkserver'
    job = table_jobs(load_table(_seeds_table(tmp_path / 'seeds.py', [])),
                     'short', None, str(tmp_path), ['--compile'])[1]
    run_row = processes.run_row
    args = (run_row.__module__, run_row.__name__,
            (job.row, job.work_dir, job.options, job.train_args), 'log', 1,
            '.', None)
    target, copied = pickle.loads(pickle.dumps(
        (processes.run_function, args)))
    assert target.__module__ == 'razor_wrn.script_jobs'
    assert copied == args
    assert getattr(importlib.import_module(args[0]), args[1]) is run_row
    assert run_row.__module__ in script_jobs.PRELOAD


def test_a_job_calls_a_package_function_by_module_name(tmp_path):
    """run_function in a child of its own: the module imported by name,
    the return value sent back, the output in the job's log; an error as
    one line."""
    log = tmp_path / 'job' / 'reproduce.log'
    for function, args in (('row_seeds', (dict(seeds=[3, 1]),)),
                           ('load_table', ('no/such_table.py',))):
        receive, send = multiprocessing.Pipe(duplex=False)
        child = Forked(script_jobs.run_function, 'razor_wrn.reproduce.table',
                       function, args, str(log), 1, os.getcwd(), send)
        send.close()
        code, output = child.wait(timeout=60)
        assert code == 0, output
        if function == 'row_seeds':
            assert receive.recv() == ('done', [3, 1])
        else:
            assert receive.recv() == (
                'error', "Table file not found: 'no/such_table.py'.")
    assert 'Traceback' in log.read_text()  # the error's, in the job's log
