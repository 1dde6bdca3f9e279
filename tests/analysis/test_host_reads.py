"""No training step, and no iteration between logging points, makes the
host wait for the device: checked on the CPU by the calls that would."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import LoggerHook
from mmpretrain.structures import DataSample
from mmrazor.registry import MODELS

from conftest import run_tool
from razor_wrn.analysis.host_reads import HostReads
from razor_wrn.engine.loops import CapturedEpochBasedTrainLoop
from razor_wrn.engine.train_recipe import apply_train_recipe
from razor_wrn.models.norm import GhostBatchNorm

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
SMALL = {
    'model.architecture.backbone.depth': 10,
    'model.architecture.backbone.widen_factor': 1,
    'model.teacher.backbone.depth': 10,
    'model.teacher.backbone.widen_factor': 2,
    'model.teacher_ckpt': None,
}


def test_the_reads_that_wait_for_the_device_are_found():
    x = torch.arange(6.0)
    with HostReads() as reads:
        x.sum().item()
        bool(x[0] > 1)
        x[x > 2]
        x.nonzero()
        x.tolist()
        x.cpu()
    names = sorted(name for name, _ in reads.calls)
    assert names == ['__bool__', '__getitem__', 'cpu', 'item', 'nonzero',
                     'tolist']
    assert all(where.startswith(__file__) for _, where in reads.calls)
    with HostReads() as reads:
        x[torch.tensor([0, 2])] + x.gather(0, torch.tensor([1])).sum()
        x.reshape(2, 3)[:, 1:].exp()
    assert not reads.calls


@pytest.mark.parametrize('config', sorted(
    path.name for path in CONFIGS.glob('kd/*.py')
    if not path.stem.endswith('_cifar100')))
def test_a_distillation_step_reads_nothing_back(config):
    cfg = Config.fromfile(CONFIGS / 'kd' / config)
    cfg.merge_from_dict(SMALL)
    if config.startswith('crd_'):
        cfg.merge_from_dict(
            {'model.distiller.distill_losses.loss_crd.num_samples': 16,
             'model.distiller.distill_losses.loss_crd.num_negatives': 5})
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    if config.startswith('crd_'):
        model.distiller.distill_losses['loss_crd'].bind_training_set(
            torch.arange(16) % 10)
    images, labels = torch.randn(4, 3, 32, 32), torch.tensor([3, 7, 0, 3])
    samples = [DataSample(metainfo=dict(sample_idx=torch.tensor([i])))
               .set_gt_label(label) for i, label in enumerate(labels.split(1))]
    reads = reads_of_a_second_step(model, images, samples)
    assert not reads, reads


def reads_of_a_second_step(model, images: torch.Tensor,
                           samples: list) -> list:
    """The host reads of a training step (loss, backward, SGD) after a
    first one (CRD reads its normalisers' state once per process)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.train()

    def step():
        total, _ = model.parse_losses(model.loss(images, samples))
        total.backward()
        optimizer.step()
        optimizer.zero_grad()

    step()
    with HostReads() as reads:
        step()
    return reads.calls


@pytest.mark.parametrize('config', [
    'vanilla/wrn16-w2_b16x8_cifar10_device.py',
    'kd/ofd_wrn28-4_to_wrn16-2_b16x8_device.py'])
def test_a_b16x8_step_on_one_process_reads_nothing_back(config):
    """The reference recipe on one process: BatchNorm in 8 groups
    (``GhostBN``) of the student and the connectors."""
    cfg = Config.fromfile(CONFIGS / config)
    apply_train_recipe(cfg, 1)
    cfg.merge_from_dict(SMALL if 'teacher' in cfg.model else {
        'model.backbone.depth': 10, 'model.backbone.widen_factor': 1})
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    assert any(isinstance(m, GhostBatchNorm) for m in model.modules())
    images, labels = torch.randn(16, 3, 32, 32), torch.arange(16) % 10
    samples = [DataSample().set_gt_label(label) for label in labels.split(1)]
    reads = reads_of_a_second_step(model, images, samples)
    assert not reads, reads


VANILLA = ['model.backbone.depth=10', 'model.backbone.widen_factor=1']


@pytest.mark.parametrize('config, model_options', [
    ('vanilla/wrn16-w2_b128x1_cifar10_device.py', VANILLA),
    ('kd/wrn40-2_to_wrn16-2_device.py',
     [f'{key}={value}' for key, value in SMALL.items()]),
    # mmengine's RuntimeInfoHook reads every loss back every iteration.
    ('vanilla/wrn16-w2_b128x1_cifar10_device.py',
     VANILLA + ['default_hooks.runtime_info.type=RuntimeInfoHook']),
], ids=['vanilla', 'kd', 'mmengine-runtime-info'])
def test_iterations_between_logging_points_read_nothing_back(
        config, model_options, tools, tmp_path, make_tiny_cifar10, capsys,
        monkeypatch):
    data = make_tiny_cifar10(per_class_train=4, per_class_test=1)
    between = []
    run_tensor_iter = CapturedEpochBasedTrainLoop.run_tensor_iter

    def watched(loop, idx, batch):
        runner = loop.runner
        interval = next(hook.interval for hook in runner.hooks
                        if isinstance(hook, LoggerHook))
        logs = (idx + 1) % interval == 0 or idx + 1 == len(
            loop.dataloader) or runner.iter + 1 == runner.max_iters
        with HostReads() as reads:
            run_tensor_iter(loop, idx, batch)
        if not logs:
            between.append(dict(reads.calls))

    monkeypatch.setattr(CapturedEpochBasedTrainLoop, 'run_tensor_iter',
                        watched)
    code, out = run_tool(tools['train'], [
        str(CONFIGS / config), '--compile', '--work-dir', str(tmp_path),
        '--cfg-options', 'train_cfg.max_epochs=1', 'recipe_world_size=None',
        *model_options,
        *[f'{loader}_dataloader.{key}' for loader in ('train', 'val', 'test')
          for key in (f'data_root={data}', 'batch_size=2', 'device=cpu')]],
        capsys)
    assert code == 0, out.err
    # 20 batches, a log every 2nd (LogIntervalHook: 10 per epoch).
    assert len(between) == 10
    if 'RuntimeInfoHook' in model_options[-1]:
        # mmengine may live outside site-packages (a --target install).
        assert all(any(
            name == 'item' and where.rsplit(':', 1)[0].endswith(
                'mmengine/logging/message_hub.py')
            for name, where in calls) for calls in between), between[0]
    else:
        assert between == [{}] * 10
