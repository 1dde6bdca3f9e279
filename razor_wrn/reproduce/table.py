"""A results table (``configs/tables/*.py``): reading and checking it, and
what each of its rows trains with under a budget.

A table names its rows (``name``, ``config``, optionally ``teacher``: an
earlier row whose final checkpoint the row distills from, ``reference``
top-1, ``cfg_options``, ``short_options`` and ``seeds``), a ``title``,
table-wide ``cfg_options`` and the ``short`` budget (``epochs``, optionally
``teacher_epochs``, ``train_images``, ``test_images``).
"""
import functools
import os.path as osp
from typing import List, Optional

from mmengine.config import Config

from razor_wrn.cli import UserError, read_config_file
from razor_wrn.datasets.device_cifar import device_loader_class


def load_table(path: str) -> Config:
    """Read a table file and check that each teacher is an earlier row.

    Args:
        path (str): The table file.

    Returns:
        Config: The table.

    Raises:
        UserError: If the file is missing or broken, or a row is malformed.
    """
    table = read_config_file(path, 'table')
    seen = set()
    for row in table.get('rows', []):
        if 'name' not in row or 'config' not in row:
            raise UserError(f'{path!r}: every row needs `name` and `config`'
                            f', got {dict(row)}.')
        row['config'] = _find_config(row['config'], path)
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


def row_seeds(row: dict) -> List[Optional[int]]:
    """A row's seeds, or ``[None]`` when it names none (the config's own
    ``randomness``)."""
    return list(row['seeds']) if row.get('seeds') is not None else [None]


def teacher_names(table: Config) -> set:
    """The names of the rows that another row takes as its teacher."""
    return {row['teacher'] for row in table.rows
            if row.get('teacher') is not None}


def short_epochs(table: Config, row: dict) -> int:
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


def short_milestones(epochs: int) -> str:
    """The short budget's lr /10 epochs, at half and three quarters of
    ``epochs``, as a ``--cfg-options`` list: one drop when the two fall on
    the same epoch (a 2-epoch run went from lr to lr/100 in epoch 2), none
    before the first epoch ends (``'[6,9]'`` for 12 epochs, ``'[1]'`` for
    2, ``'[]'`` for 1)."""
    drops = sorted({epoch for epoch in (epochs // 2, epochs * 3 // 4)
                    if 0 < epoch < epochs})
    return '[' + ','.join(map(str, drops)) + ']'


def budget_options(table: Config, budget: str, row: dict) -> List[str]:
    """``--cfg-options`` of a row under a budget: the table's and the row's
    own, plus for ``short`` the cut epochs, schedule and data.

    Args:
        table (Config): The table.
        budget (str): ``'full'`` (the configs' own) or ``'short'``.
        row (dict): One of its rows.
    """
    options = list(table.get('cfg_options', [])) + list(
        row.get('cfg_options', []))
    if budget == 'short':
        short = table.short
        epochs = short_epochs(table, row)
        options += [
            f'train_cfg.max_epochs={epochs}',
            f'param_scheduler.milestones={short_milestones(epochs)}',
            f'{loader_setting(row["config"], "train", "indices")}='
            f'{short.train_images}',
            *(f'{loader_setting(row["config"], split, "indices")}='
              f'{short.test_images}' for split in ('val', 'test')),
            *row.get('short_options', []),
        ]
    return options


def data_options(data_root: Optional[str], config: str) -> List[str]:
    """Point every loader of ``config`` at ``data_root`` (None: the
    config's own)."""
    if data_root is None:
        return []
    return [f'{loader_setting(config, split, "data_root")}={data_root}'
            for split in ('train', 'val', 'test')]


@functools.lru_cache(maxsize=None)
def loader_setting(config: str, split: str, key: str) -> str:
    """The ``--cfg-options`` key of the data setting ``key`` (``data_root``,
    ``indices``) of ``config``'s ``split`` loader: on a standard loader's
    dataset, on a device loader itself (it reads the split)."""
    loader = {}
    if osp.isfile(config):  # else the row fails with the missing file
        loader = Config.fromfile(config).get(f'{split}_dataloader') or {}
    held_by = '' if device_loader_class(loader.get('type')) else 'dataset.'
    return f'{split}_dataloader.{held_by}{key}'


def _find_config(config: str, table_path: str) -> str:
    """A row's config as given when it exists from the current folder, else
    from the first folder above the table file that holds it (the
    repository's tables name ``configs/...``, so they run from any folder);
    as given when neither has it (the row then fails with that error)."""
    if osp.isabs(config) or osp.isfile(config):
        return config
    folder = osp.dirname(osp.abspath(table_path))
    while True:
        candidate = osp.join(folder, config)
        if osp.isfile(candidate):
            return candidate
        parent = osp.dirname(folder)
        if parent == folder:
            return config
        folder = parent
