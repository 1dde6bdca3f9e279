"""The b16x8 recipe on fewer processes: a tiny FitNets distillation (the
student's BN layers and the connector's BN train; the teacher stays in eval
mode) trained by tools/train.py on 1 and on 2 processes ends with the
weights and BN buffers of the same run on 8 gloo processes.

The per-rank batch is 2 instead of 16 and the split 40 images, so each of
the 8 recipe ranks holds 5 samples per epoch: chunks of 2, 2 and 1, i.e.
three steps per epoch of 16, 16 and 8 images, the last one in 8 groups of
1. Two epochs, so the second starts from running statistics averaged over
the processes (SyncNormStatsHook) and a new permutation.

At the configs' lr of 0.1 the tiny run's hint loss (about 260) makes each
step so large that float summation noise grows to 1e-3 within six steps,
so the run takes lr 0.01: then the three runs agree within 2e-6 (the
bound is 1e-5), while the same run with BatchNorm over each step's 16
images (the recipe switched off) ends 1.5 away in a running variance.
"""
from pathlib import Path

import pytest
import torch

from conftest import Forked, forked_ranks

REPO = Path(__file__).resolve().parents[2]
FITNETS = 'configs/kd/fitnets_wrn40-2_to_wrn16-2.py'
TINY_FITNETS = [
    *(f'model.{part}.{key}' for part in ('architecture', 'teacher')
      for key in ('backbone.depth=10', 'backbone.widen_factor=1')),
    'model.teacher_ckpt=None', 'default_hooks.teacher_eval=None'
]


def _options(data_root: str) -> list:
    return [
        *TINY_FITNETS, f'train_dataloader.dataset.data_root={data_root}',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'train_cfg.max_epochs=2', 'randomness.seed=0',
        'default_hooks.logger.interval=1', 'optim_wrapper.optimizer.lr=0.01'
    ]


@pytest.fixture(scope='module')
def runs(tmp_path_factory, make_tiny_cifar10, tools):
    """``{processes: (work dir, final state dict)}`` for 1, 2 and 8."""
    data = make_tiny_cifar10(per_class_train=4, per_class_test=1)
    root = tmp_path_factory.mktemp('recipe')
    runs = {}
    # 'off': one process, 16 images per step, BN over all 16. It runs in
    # this process, first: the forked runs inherit what a first training
    # imports and initialises (each of the 11 paid 0.6 s of CPU for it).
    for processes in ('off', 8, 2, 1):
        work_dir = root / f'n{processes}'
        argv = [FITNETS, '--work-dir', str(work_dir), '--no-validate',
                '--cfg-options', *_options(data)]
        if processes == 'off':
            tools['train'].main([*argv, 'recipe_world_size=None',
                                 'train_dataloader.batch_size=16'])
        elif processes == 1:  # as a user runs it: no launcher
            code, output = Forked(tools['train'].main, argv).wait()
            assert code == 0, output[-4000:]
        else:
            forked_ranks(tools['train'].main, argv, processes)
        runs[processes] = (work_dir, torch.load(
            work_dir / 'epoch_2.pth', weights_only=True)['state_dict'])
    return runs


def _largest_difference(state: dict, reference: dict) -> tuple:
    """``(largest absolute difference, its key)`` over every tensor of two
    state dicts with the same keys (parameters and BN buffers)."""
    assert state.keys() == reference.keys()
    return max(((state[name].double() - value.double()).abs().max().item(),
                name) for name, value in reference.items())


@pytest.mark.parametrize('processes', [1, 2])
def test_fewer_processes_end_with_the_8_process_weights(runs, processes):
    difference, name = _largest_difference(runs[processes][1], runs[8][1])
    assert difference < 1e-5, name


def test_the_comparison_sees_a_run_without_the_recipe(runs):
    difference, _ = _largest_difference(runs['off'][1], runs[8][1])
    assert difference > 0.1


@pytest.mark.parametrize('processes, line', [
    (1, 'b2x8 recipe on 1 process: 16 images per step in 8 BatchNorm '
        'groups of 2\n'),
    (2, 'b2x8 recipe on 2 processes: 16 images per step in 8 BatchNorm '
        'groups of 2 (4 per process)\n'),
    (8, 'b2x8 recipe on 8 processes: 16 images per step in 8 BatchNorm '
        'groups of 2\n'),
])
def test_the_log_says_how_the_recipe_runs(runs, processes, line):
    log = next(runs[processes][0].glob('*/*.log')).read_text()
    assert log.count(line) == 1
    # Three steps an epoch on any number of processes: 16, 16, 8 images.
    assert 'Epoch(train) [2][3/3]' in log and '[2][4/' not in log
