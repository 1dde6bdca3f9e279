"""Every results table in configs/tables loads, and each row's config
accepts the table's options under both budgets (what tools/reproduce.py
passes it, before any training), also with the training's fast path
(--compile --amp bf16 --channels-last)."""
from pathlib import Path

import pytest

from razor_wrn.apis import train as train_api
from razor_wrn.cli import load_config
from razor_wrn.reproduce import load_table, table_jobs
from razor_wrn.reproduce.row import options_dict
from razor_wrn.reproduce.table import short_epochs

REPO = Path(__file__).resolve().parents[2]
TABLES = sorted(str(p.relative_to(REPO))
                for p in REPO.glob('configs/tables/*.py'))
FAST = ['--compile', '--amp', 'bf16', '--channels-last']


@pytest.mark.parametrize('table_path', TABLES)
@pytest.mark.parametrize('budget', ['full', 'short'])
def test_every_row_loads_with_its_options(table_path, budget):
    table = load_table(table_path)
    for job in table_jobs(table, budget, 'data/cifar10', 'runs', FAST):
        options = job.options + (['model.teacher_ckpt=t.pth']
                                 if job.teacher is not None else [])
        cfg = load_config(job.row['config'], options_dict(options))
        for split in ('train', 'val', 'test'):
            # A standard loader's dataset reads the split, a device loader
            # itself.
            loader = cfg[f'{split}_dataloader']
            data = loader.get('dataset', loader)
            assert data.data_root == 'data/cifar10'
            if budget == 'short':
                assert data.indices == (table.short.train_images
                                        if split == 'train' else
                                        table.short.test_images)
        # The training's own flags on top of the budget's options.
        args = train_api.parse_args([job.row['config'], *job.train_args])
        cfg = train_api.merge_args(cfg, args)
        assert cfg.train_cfg.type == 'CapturedEpochBasedTrainLoop'
        if budget == 'short':
            assert cfg.train_cfg.max_epochs == short_epochs(table, job.row)


@pytest.mark.parametrize('table_path', [
    'configs/tables/reference_cifar10.py',
    'configs/tables/reference_device_cifar10.py'])
def test_the_reference_tables_run_the_b16x8_recipe(table_path):
    """Their rows are b16x8 configs, left as they are (no batch or
    recipe_world_size option), so on one device each takes 128 images per
    step in 8 BatchNorm groups of 16; the device table's rows are the
    standard table's with the device-resident loader."""
    table = load_table(table_path)
    for job in table_jobs(table, 'full', None, 'runs'):
        cfg = load_config(job.row['config'], options_dict(job.options))
        assert (cfg.recipe_world_size, cfg.train_dataloader.batch_size) == (
            8, 16), job.row['name']
    assert [row['name'] for row in table.rows if 'teacher' not in row] == [
        'WRN-40-2', 'WRN-16-2', 'WRN-28-4', 'WRN-22-4']
    standard = load_table('configs/tables/reference_cifar10.py')
    for row, twin in zip(table.rows, standard.rows):
        assert (row['name'], row.get('teacher'), row.get('reference')) == (
            twin['name'], twin.get('teacher'), twin.get('reference'))
        same = load_config(row['config'], {})
        same.train_dataloader = same.val_dataloader = None
        other = load_config(twin['config'], {})
        other.train_dataloader = other.val_dataloader = None
        for key in ('model', 'optim_wrapper', 'param_scheduler',
                    'train_cfg', 'recipe_world_size'):
            assert same[key] == other[key], (row['name'], key)
