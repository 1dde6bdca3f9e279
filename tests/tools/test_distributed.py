"""Two-process runs on the CPU (gloo), and the errors of a multi-process
setup.

One module fixture trains a FitNets distillation of WRN-10-1 (the connector
has its own BN) for one epoch with two ranks of tools/train.py, whose
processes save their whole state at the checkpoint; then its student,
converted to a plain classifier, is evaluated by two ranks of
tools/test.py. The ranks are forked from this process with the variables
torchrun gives them (a fresh interpreter costs seconds of imports); what
tools/dist_train.sh and tools/dist_test.sh hand to torchrun is checked with
a stand-in ``torchrun``.
"""
import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

from conftest import Forked
from conftest import forked_ranks as _forked_ranks
from conftest import free_port as _free_port
from razor_wrn.cli import run_cli
from razor_wrn.engine.distributed import TrainableDDP, default_backend
from razor_wrn.engine.distributed import sync_norm_stats_hook as sync_hook
from razor_wrn.engine.distributed import launch
from razor_wrn.engine.distributed.launch import export_slurm_env

REPO = Path(__file__).resolve().parents[2]
FITNETS = 'configs/kd/fitnets_wrn40-2_to_wrn16-2.py'
VANILLA = 'configs/vanilla/wrn16-w2_b16x8_cifar10.py'
TINY_WRN = ['model.backbone.depth=10', 'model.backbone.widen_factor=1']
# WRN-10-1 -> WRN-10-1 (the connector's channels follow).
TINY_FITNETS = [
    *(f'model.{part}.{key}' for part in ('architecture', 'teacher')
      for key in ('backbone.depth=10', 'backbone.widen_factor=1')),
    'model.teacher_ckpt=None'
]

@HOOKS.register_module()
class RankStateHook(Hook):
    """Run by each rank after the CheckpointHook at the end of an epoch: it
    saves what that rank holds, and how its model was wrapped."""
    priority = 'LOWEST'

    def after_train_epoch(self, runner) -> None:
        ddp = runner.model
        torch.save(dict(
            state=ddp.module.state_dict(),
            backend=dist.get_backend(),
            ignored=sorted(ddp.parameters_to_ignore),
            reduced=sorted(
                name for name, param in ddp.module.named_parameters()
                if param.requires_grad
                and name not in ddp.parameters_to_ignore)),
            os.path.join(runner.work_dir, f'rank{dist.get_rank()}.pth'))


def _logged_val(work_dir: Path) -> dict:
    scalars = next(work_dir.glob('*/vis_data/scalars.json'))
    rows = [json.loads(line) for line in scalars.read_text().splitlines()]
    return [row for row in rows if 'accuracy/top1' in row][-1]


@pytest.fixture(scope='module')
def runs(tmp_path_factory, make_tiny_cifar10, data_options, tools):
    """The distillation trained by two ranks (``kd``: its work dir), then
    its student, converted to a plain classifier, scored by two ranks with
    the vanilla config (``metrics``: the ``--out`` dict)."""
    data = make_tiny_cifar10(per_class_train=2, per_class_test=1)
    # 5 images per process and step: 2 steps per epoch, 1 for validation.
    options = data_options(data, 5)
    root = tmp_path_factory.mktemp('dist')
    config = root / 'fitnets_rank_state.py'
    config.write_text(f"_base_ = [{str(REPO / FITNETS)!r}]\n"
                      "custom_hooks = [dict(type='RankStateHook')]\n")
    _forked_ranks(tools['train'].main, [
        str(config), '--work-dir', str(root / 'kd'), '--cfg-options',
        'train_cfg.max_epochs=1', *TINY_FITNETS, *options])
    student = root / 'student.pth'
    tools['convert'].main([str(root / 'kd' / 'epoch_1.pth'), str(student)])
    _forked_ranks(tools['test'].main, [
        VANILLA, str(student), '--work-dir', str(root / 'test'),
        '--out', str(root / 'metrics.json'), '--cfg-options', *TINY_WRN,
        *options])
    return dict(kd=root / 'kd',
                metrics=json.loads((root / 'metrics.json').read_text()))


def test_ranks_hold_the_saved_model(runs):
    """Parameters (student, connector) and BN statistics agree on both
    ranks and are what the checkpoint holds; gloo was chosen."""
    ranks = [torch.load(runs['kd'] / f'rank{r}.pth', weights_only=True)
             for r in (0, 1)]
    saved = torch.load(runs['kd'] / 'epoch_1.pth',
                       weights_only=True)['state_dict']
    assert [r['backend'] for r in ranks] == ['gloo', 'gloo']
    assert ranks[0]['state'].keys() == saved.keys()
    for name, value in saved.items():
        for rank in ranks:
            assert torch.equal(rank['state'][name], value), name
    # The student's BN statistics moved during training.
    first_bn = 'architecture.backbone.bn1.running_mean'
    assert not torch.equal(saved[first_bn], torch.zeros_like(
        saved[first_bn]))


def test_only_the_student_and_connectors_are_in_ddp(runs):
    rank = torch.load(runs['kd'] / 'rank0.pth', weights_only=True)
    teacher = {k for k in rank['state'] if k.startswith('teacher.')}
    # Also the teacher's non-persistent buffers (its preprocessor's).
    assert teacher < set(rank['ignored'])
    assert all(name.startswith('teacher.') for name in rank['ignored'])
    prefixes = {name.split('.')[0] for name in rank['reduced']}
    assert prefixes == {'architecture', 'distiller'}
    assert 'distiller.connectors.hint.conv_module.bn.weight' in rank['reduced']


def test_logged_val_metrics_are_the_checkpoints(runs):
    """What training logged (and chose the best checkpoint by) is what
    tools/test.py measures on the saved weights."""
    logged = _logged_val(runs['kd'])
    assert set(runs['metrics']) == {'accuracy/top1', 'accuracy/top5'}
    for key, value in runs['metrics'].items():
        assert logged[key] == pytest.approx(value), key


def _start_group_and_exit_handlers() -> None:
    """In a forked child: start a one-process group as a torchrun rank
    would, then run the exit handlers that start registered."""
    handlers = []
    atexit_register = launch.atexit.register
    launch.atexit.register = handlers.append
    try:
        launch.init_distributed(Config(dict(launcher='pytorch')))
    finally:
        launch.atexit.register = atexit_register
    assert dist.is_initialized() and len(handlers) == 1
    handlers[0]()
    assert not dist.is_initialized()


def test_the_group_a_run_started_is_destroyed_at_exit():
    # A live group at interpreter exit can abort the finished process.
    code, output = Forked(_start_group_and_exit_handlers, env=dict(
        RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1',
        MASTER_PORT=str(_free_port()), CUDA_VISIBLE_DEVICES='')).wait()
    assert code == 0, output[-2000:]


def test_backend_follows_the_machine(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert default_backend() == 'gloo'
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert default_backend() == 'nccl'


@pytest.mark.parametrize('env, options, message', [
    (dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1',
          MASTER_PORT='1'), ['--cfg-options', 'env_cfg.dist_cfg.backend=nccl'],
     "backend='nccl' needs CUDA, and this machine has none"),
    (dict(), [], 'needs the variables torchrun sets'),
])
def test_setup_errors_are_one_line(env, options, message, tools, monkeypatch,
                                   capsys, tmp_path):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    for name in ('RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'MASTER_ADDR',
                 'MASTER_PORT'):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exit_:
        run_cli(tools['train'].main, [
            VANILLA, '--launcher', 'pytorch', '--work-dir', str(tmp_path),
            *options])
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith('ERROR: ') and message in err
    assert len(err.splitlines()) == 1


def test_slurm_tasks_become_torchrun_ranks(monkeypatch):
    for name, value in dict(SLURM_PROCID='5', SLURM_NTASKS='8',
                            SLURM_LOCALID='1', SLURM_NODELIST='node[1-2]',
                            MASTER_ADDR='node1').items():
        monkeypatch.setenv(name, value)
    for name in ('RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'MASTER_PORT'):
        monkeypatch.delenv(name, raising=False)
    export_slurm_env(port=29501)
    assert [os.environ[k] for k in ('RANK', 'LOCAL_RANK', 'WORLD_SIZE',
                                    'MASTER_ADDR', 'MASTER_PORT')] == [
        '5', '1', '8', 'node1', '29501']


def test_syncbn_on_the_cpu_is_refused_before_training():
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(str(REPO / VANILLA))
    cfg.model.backbone.update(depth=10, widen_factor=1,
                              norm_cfg=dict(type='SyncBN'))
    model = MODELS.build(cfg.model)
    norms = [m for m in model.modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert norms and all(isinstance(m, torch.nn.SyncBatchNorm)
                         for m in norms)
    with pytest.raises(RuntimeError, match='SyncBN layers .* train on GPUs'):
        TrainableDDP(model, device_ids=[0])


def _launched_args(launcher: str, script: str, argv: list, env: dict,
                   tmp_path: Path) -> list:
    """Run ``tools/script argv`` with a stand-in ``launcher`` (srun,
    torchrun) first on PATH; return the arguments the script gave it."""
    record = tmp_path / f'{launcher}_args'
    stand_in = tmp_path / launcher
    stand_in.write_text(
        f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" > {record}\n')
    stand_in.chmod(0o755)
    subprocess.run(['bash', str(REPO / 'tools' / script), *argv], env=dict(
        os.environ, PATH=f"{tmp_path}{os.pathsep}{os.environ['PATH']}",
        **env), check=True, capture_output=True)
    return record.read_text().splitlines()


@pytest.mark.parametrize('script, positional, tool', [
    ('slurm_train.sh', ['CONFIG', 'WORK'], 'train.py'),
    ('slurm_test.sh', ['CONFIG', 'CKPT'], 'test.py'),
])
def test_slurm_scripts_start_one_task_per_gpu(script, positional, tool,
                                              tmp_path):
    """The srun command line, recorded by a stand-in ``srun``."""
    args = _launched_args(
        'srun', script, ['gpu', 'job', *positional, '--cfg-options', 'a=1'],
        dict(GPUS='16', GPUS_PER_NODE='8', SRUN_ARGS='--quotatype=auto'),
        tmp_path)
    assert args[:8] == ['-p', 'gpu', '--job-name=job', '--gres=gpu:8',
                        '--ntasks=16', '--ntasks-per-node=8',
                        '--cpus-per-task=5', '--kill-on-bad-exit=1']
    launched = args[args.index('--quotatype=auto') + 1:]
    assert launched[:3] == ['python', '-u', str(REPO / 'tools' / tool)]
    assert launched[3] == 'CONFIG' and '--launcher=slurm' in launched
    assert launched[-2:] == ['--cfg-options', 'a=1']
    assert (f'--work-dir={positional[1]}' in launched) == (tool == 'train.py')
    assert (positional[1] in launched) == (tool == 'test.py')


@pytest.mark.parametrize('script, positional, tool', [
    ('dist_train.sh', ['CONFIG', '4'], 'train.py'),
    ('dist_test.sh', ['CONFIG', 'CKPT', '4'], 'test.py'),
])
def test_dist_scripts_start_one_process_per_gpu(script, positional, tool,
                                                tmp_path):
    """The torchrun command line, recorded by a stand-in ``torchrun``."""
    args = _launched_args(
        'torchrun', script, [*positional, '--out', 'm.json'],
        dict(NNODES='2', NODE_RANK='1', MASTER_ADDR='node1', PORT='29600'),
        tmp_path)
    assert args[:5] == ['--nnodes=2', '--node_rank=1', '--master_addr=node1',
                        '--nproc_per_node=4', '--master_port=29600']
    assert Path(args[5]).resolve() == REPO / 'tools' / tool
    assert args[6:] == [*positional[:-1], '--launcher', 'pytorch', '--out',
                        'm.json']


def test_only_trained_norm_layers_are_averaged(monkeypatch):
    """The student's BN statistics, not the frozen (eval-mode) teacher's nor
    the integer step counters."""
    reduced = []
    monkeypatch.setattr(sync_hook, 'all_reduce_params',
                        lambda tensors, op: reduced.append((tensors, op)))
    student, teacher = torch.nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    model = torch.nn.ModuleDict(dict(student=student, teacher=teacher))
    model.train()
    teacher.eval()
    sync_hook.sync_norm_stats(model)
    [(tensors, op)] = reduced
    assert op == 'mean'
    assert [id(t) for t in tensors] == [id(student.running_mean),
                                        id(student.running_var)]


def test_stats_are_averaged_wherever_a_checkpoint_can_follow(monkeypatch):
    """After each epoch of an epoch-based loop; after every iteration of an
    iteration-based one (it may checkpoint at any iteration)."""
    synced = []
    monkeypatch.setattr(sync_hook, 'sync_norm_stats', synced.append)
    hook = sync_hook.SyncNormStatsHook()
    by_epoch = SimpleNamespace(model='epoch-model', train_loop=object.__new__(
        EpochBasedTrainLoop))
    by_iter = SimpleNamespace(model='iter-model', train_loop=object.__new__(
        IterBasedTrainLoop))
    hook.after_train_iter(by_epoch, 0)
    assert synced == []
    hook.after_train_epoch(by_epoch)
    hook.after_train_iter(by_iter, 0)
    assert synced == ['epoch-model', 'iter-model']
