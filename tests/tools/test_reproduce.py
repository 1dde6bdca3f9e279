"""reproduce.py end to end on a two-row table (a teacher and the KD student
it teaches): train, evaluate, tabulate; skip what is done; resume what was
interrupted; one error per failing row."""
import contextlib
import io
import json
import multiprocessing
from pathlib import Path

import pytest

from conftest import load_tool

reproduce = load_tool('reproduce.py')
TINY = ['backbone.depth=10', 'backbone.widen_factor=1']


def _table(path: Path, cfg_options: list) -> str:
    rows = [
        dict(name='teacher', reference=50.0,
             config='configs/vanilla/wrn40-w2_b128x1_cifar10.py',
             cfg_options=[f'model.{o}' for o in TINY]),
        dict(name='KD student', teacher='teacher',
             config='configs/kd/wrn40-2_to_wrn16-2.py',
             cfg_options=[f'model.{part}.{o}' for part in
                          ('architecture', 'teacher') for o in TINY]),
    ]
    path.write_text(f'title = "Tiny"\ncfg_options = {cfg_options!r}\n'
                    'short = dict(epochs=2, train_images=20, '
                    f'test_images=10)\nrows = {rows!r}\n')
    return str(path)


@pytest.fixture(scope='module')
def table_run(tmp_path_factory, make_tiny_cifar10, data_options):
    folder = tmp_path_factory.mktemp('tables')
    # 40 training images, 20 of them used: 2 iterations per epoch.
    data = make_tiny_cifar10(per_class_train=4, per_class_test=2)
    table = _table(folder / 'tiny.py', data_options(data, 10))
    argv = [table, '--budget', 'short', '--work-root', str(folder / 'runs')]
    return dict(argv=argv, results=reproduce.main(argv),
                root=folder / 'runs' / 'tiny' / 'short')


def test_rows_are_trained_evaluated_and_tabulated(table_run):
    results, root = table_run['results'], table_run['root']
    teacher, student = results['teacher'], results['KD student']
    metrics = json.loads((root / 'teacher' / 'metrics.json').read_text())
    assert (teacher['top1'], teacher['top5']) == (
        metrics['accuracy/top1'], metrics['accuracy/top5'])
    assert student['params'] == 77_850  # the WRN-10-1 student, not the pair
    # The student was distilled from the teacher row's final checkpoint.
    dumped = (root / 'KD_student' / 'wrn40-2_to_wrn16-2.py').read_text()
    assert str(root / 'teacher' / 'epoch_2.pth') in dumped
    # Short budget: 20 training images, 10 test images, 2 epochs.
    log = next((root / 'teacher').glob('*/*.log')).read_text()
    assert 'Epoch(train) [2][2/2]' in log and '[1/1]' in log
    markdown = (root / 'results.md').read_text()
    assert 'short budget: 2 epochs on the first 20 training images' in (
        markdown)
    assert (f'| teacher | `configs/vanilla/wrn40-w2_b128x1_cifar10.py` | '
            f'{teacher["top1"]:.2f} | {teacher["top5"]:.2f} | 0.08 M | ') in (
                markdown)
    assert f'| 50.00 | {teacher["top1"] - 50:+.2f} |' in markdown
    assert (root / 'curves.png').read_bytes()[:4] == b'\x89PNG'
    saved = json.loads((root / 'results.json').read_text())
    assert [r['name'] for r in saved['rows']] == ['teacher', 'KD student']
    assert saved['rows'][1]['top1'] == student['top1']


def test_done_rows_are_skipped_and_interrupted_ones_resumed(
        table_run, monkeypatch):
    root = table_run['root']
    calls = []
    train = reproduce.train_tool.main
    monkeypatch.setattr(reproduce.train_tool, 'main',
                        lambda argv: calls.append(argv) or train(argv))
    assert reproduce.main(table_run['argv']) == table_run['results']
    assert calls == []
    # Interrupted after the student's first epoch.
    student = root / 'KD_student'
    (student / 'epoch_2.pth').unlink()
    (student / 'metrics.json').unlink()
    (student / 'last_checkpoint').write_text(str(student / 'epoch_1.pth'))
    results = reproduce.main(table_run['argv'])
    assert [argv[0] for argv in calls] == ['configs/kd/wrn40-2_to_wrn16-2.py']
    assert '--resume' in calls[0]
    newest_log = sorted(student.glob('*/*.log'))[-1].read_text()
    assert 'resumed epoch: 1, iter: 2' in newest_log
    assert results['teacher'] == table_run['results']['teacher']
    assert (student / 'epoch_2.pth').is_file()


def test_each_failing_row_gets_one_error(tmp_path, capsys):
    table = tmp_path / 'broken.py'
    table.write_text(
        'title = "Broken"\nshort = dict(epochs=1, train_images=1, '
        'test_images=1)\nrows = [dict(name="a", config="no/such.py"), '
        'dict(name="b", config="no/such.py", teacher="a")]\n')
    with pytest.raises(reproduce.UserError, match=r"2 row\(s\) failed"):
        reproduce.main([str(table), '--work-root', str(tmp_path / 'runs')])
    out = capsys.readouterr().out
    assert "ERROR: row 'a': Config file not found: 'no/such.py'." in out
    assert "ERROR: row 'b': its teacher 'a' failed" in out
    assert 'failed: Config file not found' in (
        tmp_path / 'runs' / 'broken' / 'full' / 'results.md').read_text()



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


def _fast_job_context():
    """The tool's forkserver, also preloading tests/tools/fast_jobs.py."""
    context = multiprocessing.get_context('forkserver')
    context.set_forkserver_preload(['fast_jobs'])
    return context


def _training_logs(work_dir: Path) -> list:
    return sorted(path.name for path in work_dir.glob('*/*.log'))


@pytest.fixture(scope='module')
def parallel_run(tmp_path_factory, make_tiny_cifar10, data_options):
    """The seeds table run with --jobs 2; ``output``: what the tool
    printed (the children's output goes to their reproduce.log)."""
    folder = tmp_path_factory.mktemp('parallel')
    data = make_tiny_cifar10(per_class_train=4, per_class_test=2)
    table = _seeds_table(folder / 'seeds.py', data_options(data, 10))
    argv = [table, '--budget', 'short', '--work-root', str(folder / 'runs'),
            '--jobs', '2']
    output = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(
            output):
        patch.setattr(reproduce, 'job_context', _fast_job_context)
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
        assert 'Epoch(train) [2][2/2]' in (work_dir / 'reproduce.log'
                                           ).read_text()


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
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(
            io.StringIO()):
        patch.setattr(reproduce, 'job_context', _fast_job_context)
        results = reproduce.main(parallel_run['argv'])
    after = [_training_logs(work_dir) for work_dir in work_dirs]
    assert after[:2] == before[:2]  # the teacher and seed 0: not re-run
    assert len(after[2]) == len(before[2]) + 1
    newest = sorted(seed_1.glob('*/*.log'))[-1].read_text()
    assert 'resumed epoch: 1, iter: 2' in newest
    assert results['teacher'] == parallel_run['results']['teacher']
    assert (seed_1 / 'epoch_2.pth').is_file()


@pytest.mark.parametrize('seeds', ['[]', '[0, 0]', '"0"'])
def test_seeds_must_be_distinct_integers(seeds, tmp_path):
    table = tmp_path / 'bad.py'
    table.write_text(
        'title = "Bad"\nshort = dict(epochs=1, train_images=1, '
        f'test_images=1)\nrows = [dict(name="a", config="x.py", '
        f'seeds={seeds})]\n')
    with pytest.raises(reproduce.UserError,
                       match="row 'a' has seeds=.*; give a list of distinct"):
        reproduce.main([str(table)])
