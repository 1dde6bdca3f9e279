"""A table's runs: one :class:`Job` per row and seed, in its own folder,
with the options it trains and is evaluated with and the run it learns
from."""
import os.path as osp
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from mmengine.config import Config

from razor_wrn.cli import UserError
from .table import budget_options, data_options, row_seeds

# A run's key: its row's name and its seed (None: the config's own).
RunKey = Tuple[str, Optional[int]]


class Job(NamedTuple):
    """One training run of a table: a row under one seed (None: the row
    has no ``seeds``, the config's own)."""
    row: dict
    seed: Optional[int]
    work_dir: str
    options: List[str]  # --cfg-options of training and evaluation
    teacher: Optional[RunKey]  # the teacher run's key
    # tools/train.py arguments for the training only (--compile, ...).
    train_args: Tuple[str, ...] = ()

    @property
    def key(self) -> RunKey:
        return self.row['name'], self.seed

    @property
    def label(self) -> str:
        seed = '' if self.seed is None else f' (seed {self.seed})'
        return f'row {self.row["name"]!r}{seed}'


def table_jobs(table: Config, budget: str, data_root: Optional[str],
               root: str, train_args: Sequence[str] = ()) -> List[Job]:
    """Every run of the table, teachers before their students.

    Args:
        table (Config): The table (:func:`~.table.load_table`).
        budget (str): ``'full'`` or ``'short'``.
        data_root (str, optional): The data folder of every run (None: the
            configs' own).
        root (str): The folder of the table's runs under this budget.
        train_args (Sequence[str]): tools/train.py arguments every run
            trains with (``--compile``, ``--amp bf16``, ...).
    """
    jobs = []
    for row in table.rows:
        row = row.to_dict() if hasattr(row, 'to_dict') else dict(row)
        teacher = row.get('teacher')
        teacher_key = None if teacher is None else (teacher, row_seeds(
            next(r for r in table.rows if r['name'] == teacher))[0])
        for seed in row_seeds(row):
            work_dir = osp.join(root, slug(row['name']))
            options = budget_options(table, budget, row) + data_options(
                data_root, row['config'])
            if seed is not None:
                work_dir = osp.join(work_dir, f'seed_{seed}')
                options.append(f'randomness.seed={seed}')
            jobs.append(Job(row, seed, work_dir, options, teacher_key,
                            tuple(train_args)))
    return jobs


def teacher_options(job: Job, runs: Dict[RunKey, dict]) -> List[str]:
    """``model.teacher_ckpt`` of a student's finished teacher run.

    Raises:
        UserError: If that run failed.
    """
    if job.teacher is None:
        return []
    if 'error' in runs[job.teacher]:
        raise UserError(f'its teacher {job.teacher[0]!r} failed')
    return [f'model.teacher_ckpt={runs[job.teacher]["checkpoint"]}']


def slug(name: str) -> str:
    """A row name as a directory name."""
    return ''.join(c if c.isalnum() or c in '-_.' else '_' for c in name)
