"""reproduce.py end to end on a two-row table (a teacher and the KD student
it teaches): train, evaluate, tabulate; skip what is done; resume what was
interrupted; one error per failing row; a malformed seeds list; the rows
trained with --compile --amp bf16 --channels-last."""
import json
from pathlib import Path

import pytest

from conftest import load_tool
from razor_wrn.apis import train as train_api
from razor_wrn.cli import UserError

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
    train = train_api.main
    monkeypatch.setattr(train_api, 'main',
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


def test_rows_train_with_the_fast_path_options(tmp_path, make_tiny_cifar10,
                                              data_options):
    """--compile --amp bf16 --channels-last reach each row's training (the
    captured loop, eager on a CPU) and not its evaluation."""
    data = make_tiny_cifar10(per_class_train=4, per_class_test=2)
    table = tmp_path / 'fast.py'
    rows = [dict(name='wrn',
                 config='configs/vanilla/wrn40-w2_b128x1_cifar10.py',
                 cfg_options=[f'model.{o}' for o in TINY])]
    table.write_text(f'title = "Fast"\ncfg_options = '
                     f'{data_options(data, 10)!r}\nshort = dict(epochs=1, '
                     f'train_images=20, test_images=10)\nrows = {rows!r}\n')
    results = reproduce.main([
        str(table), '--budget', 'short', '--work-root', str(tmp_path),
        '--compile', '--amp', 'bf16', '--channels-last'])
    run = tmp_path / 'fast' / 'short' / 'wrn'
    log = next(run.glob('*/*.log')).read_text()
    assert ('Eager training steps on tensor batches: CUDA graphs need a CUDA '
            'device (the model is on cpu).') in log
    assert 'Model in channels-last (NHWC) memory format.' in log
    trained = ''.join((run / 'wrn40-w2_b128x1_cifar10.py').read_text().split())
    assert "type='CapturedEpochBasedTrainLoop'" in trained
    assert "type='BF16AutocastOptimWrapper'" in trained
    evaluated = (run / 'test' / 'wrn40-w2_b128x1_cifar10.py').read_text()
    assert 'Captured' not in evaluated and 'BF16' not in evaluated
    saved = json.loads((tmp_path / 'fast' / 'short' / 'results.json'
                        ).read_text())
    assert saved['rows'][0]['top1'] == results['wrn']['top1']
    assert (run / 'epoch_1.pth').is_file()


def test_each_failing_row_gets_one_error(tmp_path, capsys):
    table = tmp_path / 'broken.py'
    table.write_text(
        'title = "Broken"\nshort = dict(epochs=1, train_images=1, '
        'test_images=1)\nrows = [dict(name="a", config="no/such.py"), '
        'dict(name="b", config="no/such.py", teacher="a")]\n')
    with pytest.raises(UserError, match=r"2 row\(s\) failed"):
        reproduce.main([str(table), '--work-root', str(tmp_path / 'runs')])
    out = capsys.readouterr().out
    assert "ERROR: row 'a': Config file not found: 'no/such.py'." in out
    assert "ERROR: row 'b': its teacher 'a' failed" in out
    assert 'failed: Config file not found' in (
        tmp_path / 'runs' / 'broken' / 'full' / 'results.md').read_text()



@pytest.mark.parametrize('seeds', ['[]', '[0, 0]', '"0"'])
def test_seeds_must_be_distinct_integers(seeds, tmp_path):
    table = tmp_path / 'bad.py'
    table.write_text(
        'title = "Bad"\nshort = dict(epochs=1, train_images=1, '
        f'test_images=1)\nrows = [dict(name="a", config="x.py", '
        f'seeds={seeds})]\n')
    with pytest.raises(UserError,
                       match="row 'a' has seeds=.*; give a list of distinct"):
        reproduce.main([str(table)])


def test_a_repository_table_runs_from_any_folder(tmp_path, monkeypatch):
    """Its rows name configs/... relative to the repository: found above
    the table file when the current folder does not have them; a config
    that the current folder has is kept as given."""
    from razor_wrn.reproduce import load_table
    repository = Path(__file__).resolve().parents[2]
    table_file = repository / 'configs' / 'tables' / 'mmrazor_cifar10.py'
    monkeypatch.chdir(tmp_path)
    rows = load_table(str(table_file)).rows
    for row in rows:
        assert Path(row.config).is_file(), row.name
        assert Path(row.config).is_relative_to(repository / 'configs')
    (tmp_path / 'configs' / 'vanilla').mkdir(parents=True)
    local = tmp_path / 'configs' / 'vanilla' / 'wrn16-w2_b128x1_cifar10.py'
    local.write_text('model = dict()\n')
    rows = load_table(str(table_file)).rows
    assert 'configs/vanilla/wrn16-w2_b128x1_cifar10.py' in [
        row.config for row in rows]


@pytest.mark.parametrize('epochs, milestones', [
    (1, '[]'), (2, '[1]'), (3, '[1,2]'), (4, '[2,3]'), (12, '[6,9]'),
    (200, '[100,150]')])
def test_the_short_budget_drops_the_lr_once_per_epoch_at_most(
        epochs, milestones):
    """lr /10 at half and three quarters; two drops at one epoch were lr
    /100 at once (2 epochs: milestones [1, 1])."""
    from razor_wrn.reproduce.table import short_milestones
    assert short_milestones(epochs) == milestones
