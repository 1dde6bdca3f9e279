"""A finished run stops its loaders' persistent workers itself: left to the
garbage collector, each took torch's 5 s join timeout in a later run of the
same process (tools/reproduce.py)."""
import multiprocessing

from conftest import run_tool
from razor_wrn.engine.loader_workers import stop_loader_workers

VANILLA = 'configs/vanilla/wrn16-w2_b128x1_cifar10.py'


def _worker_options(data_root: str) -> list:
    options = []
    for loader in ('train', 'val', 'test'):
        options += [f'{loader}_dataloader.dataset.data_root={data_root}',
                    f'{loader}_dataloader.batch_size=10',
                    f'{loader}_dataloader.num_workers=1',
                    f'{loader}_dataloader.persistent_workers=True']
    return options + ['model.backbone.depth=10',
                      'model.backbone.widen_factor=1',
                      'recipe_world_size=None']


def test_train_and_test_leave_no_loader_workers_behind(
        tools, tmp_path, make_tiny_cifar10, capsys):
    data = make_tiny_cifar10(per_class_train=2, per_class_test=1)
    before = set(multiprocessing.active_children())
    code, out = run_tool(tools['train'], [
        VANILLA, '--work-dir', str(tmp_path), '--cfg-options',
        'train_cfg.max_epochs=1', *_worker_options(data)], capsys)
    assert code == 0, out.err
    assert set(multiprocessing.active_children()) == before
    code, out = run_tool(tools['test'], [
        VANILLA, str(tmp_path / 'epoch_1.pth'), '--work-dir',
        str(tmp_path / 'test'), '--cfg-options', *_worker_options(data)],
        capsys)
    assert code == 0, out.err
    assert set(multiprocessing.active_children()) == before


def test_loops_not_built_are_left_alone():
    class Runner:
        _train_loop = dict(type='EpochBasedTrainLoop', max_epochs=1)
        _val_loop = None

    assert stop_loader_workers(Runner()) == 0
