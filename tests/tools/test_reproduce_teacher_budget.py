"""reproduce.py's ``short.teacher_epochs``: a teacher row trains longer
than the students of the same short budget, its students are distilled
from its longer run's final checkpoint, and the title names both budgets.
A row that teaches no one keeps the students' epochs, whatever its config.
(A file of its own: pytest-xdist gives each file one worker.)
"""
import json
from pathlib import Path

import pytest

from conftest import load_tool
from razor_wrn.cli import UserError
from razor_wrn.reproduce import load_table, table_jobs, title

reproduce = load_tool('reproduce.py')
TINY = ['backbone.depth=10', 'backbone.widen_factor=1']
TEACHER = dict(name='teacher',
               config='configs/vanilla/wrn40-w2_b128x1_cifar10.py',
               cfg_options=[f'model.{o}' for o in TINY])
STUDENT = dict(name='KD student', teacher='teacher',
               config='configs/kd/wrn40-2_to_wrn16-2.py',
               cfg_options=[f'model.{part}.{o}' for part in
                            ('architecture', 'teacher') for o in TINY])
# A vanilla row like the teacher's, but nobody's teacher: a student budget.
SCRATCH = dict(name='scratch',
               config='configs/vanilla/wrn40-w2_b128x1_cifar10.py')


def _write_table(path: Path, rows: list, short: str,
                 cfg_options: list = ()) -> str:
    path.write_text(f'title = "Budgets"\ncfg_options = {list(cfg_options)!r}'
                    f'\nshort = {short}\nrows = {rows!r}\n')
    return str(path)


@pytest.fixture(scope='module')
def budget_run(tmp_path_factory, make_tiny_cifar10, data_options):
    """A teacher (3 epochs) and a KD student (1 epoch) trained for real."""
    folder = tmp_path_factory.mktemp('teacher_budget')
    # 40 training images, 20 of them used: 2 iterations per epoch.
    data = make_tiny_cifar10(per_class_train=4, per_class_test=2)
    table = _write_table(
        folder / 'budgets.py', [TEACHER, STUDENT],
        'dict(epochs=1, teacher_epochs=3, train_images=20, test_images=10)',
        data_options(data, 10))
    argv = [table, '--budget', 'short', '--work-root', str(folder / 'runs')]
    return dict(results=reproduce.main(argv),
                root=folder / 'runs' / 'budgets' / 'short')


def _trained_epochs(work_dir: Path) -> list:
    return sorted(int(path.stem.split('_')[1])
                  for path in work_dir.glob('epoch_*.pth'))


def test_the_teacher_row_trains_its_own_epochs(budget_run):
    root = budget_run['root']
    assert _trained_epochs(root / 'teacher') == [1, 2, 3]
    assert _trained_epochs(root / 'KD_student') == [1]
    teacher_log = next((root / 'teacher').glob('*/*.log')).read_text()
    assert 'Epoch(train) [3][2/2]' in teacher_log
    student_log = next((root / 'KD_student').glob('*/*.log')).read_text()
    assert 'Epoch(train) [1][2/2]' in student_log
    assert 'Epoch(train) [2]' not in student_log
    # Each run's lr steps at half and three quarters of its own epochs.
    teacher_cfg = (root / 'teacher' / 'wrn40-w2_b128x1_cifar10.py').read_text()
    assert 'milestones=[1,2,]' in ''.join(teacher_cfg.split())
    # The student learnt from the end of the teacher's longer run.
    dumped = (root / 'KD_student' / 'wrn40-2_to_wrn16-2.py').read_text()
    assert str(root / 'teacher' / 'epoch_3.pth') in dumped
    assert budget_run['results']['KD student']['top1'] is not None


def test_the_title_states_both_budgets(budget_run):
    markdown = (budget_run['root'] / 'results.md').read_text()
    assert ('short budget: 1 epochs (teacher rows: 3) on the first 20 '
            'training images') in markdown
    saved = json.loads((budget_run['root'] / 'results.json').read_text())
    assert '(teacher rows: 3)' in saved['title']


def _epochs(job) -> str:
    return next(o for o in job.options if o.startswith('train_cfg.'))


def test_only_rows_that_teach_get_the_teacher_budget(tmp_path):
    table = load_table(_write_table(
        tmp_path / 't.py', [TEACHER, SCRATCH, STUDENT],
        'dict(epochs=5, teacher_epochs=12, train_images=1, test_images=1)'))
    jobs = table_jobs(table, 'short', None, str(tmp_path))
    assert {job.row['name']: _epochs(job) for job in jobs} == {
        'teacher': 'train_cfg.max_epochs=12',
        'scratch': 'train_cfg.max_epochs=5',
        'KD student': 'train_cfg.max_epochs=5'}
    assert 'param_scheduler.milestones=[6,9]' in jobs[0].options
    # The full budget is the configs' own, teachers included.
    full = table_jobs(table, 'full', None, str(tmp_path))
    assert not any(o.startswith('train_cfg.') for o in full[0].options)
    assert 'teacher rows' not in title(table, 'full')


def test_without_teacher_epochs_teachers_get_the_students_budget(tmp_path):
    table = load_table(_write_table(
        tmp_path / 't.py', [TEACHER, STUDENT],
        'dict(epochs=5, train_images=1, test_images=1)'))
    jobs = table_jobs(table, 'short', None, str(tmp_path))
    assert [_epochs(job) for job in jobs] == ['train_cfg.max_epochs=5'] * 2
    assert 'teacher rows' not in title(table, 'short')


@pytest.mark.parametrize('teacher_epochs', ['0', '-2', '2.5', '"12"'])
def test_teacher_epochs_must_be_a_positive_integer(teacher_epochs, tmp_path):
    path = _write_table(
        tmp_path / 't.py', [TEACHER, STUDENT],
        f'dict(epochs=5, teacher_epochs={teacher_epochs}, train_images=1, '
        'test_images=1)')
    with pytest.raises(UserError,
                       match=r'short.teacher_epochs=.*; give a positive'):
        load_table(path)
