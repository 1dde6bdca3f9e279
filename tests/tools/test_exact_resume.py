"""A run stopped after an epoch, or killed with SIGKILL mid-epoch, then
resumed with ``--resume``, ends bit-identical to the uninterrupted run:
weights, BN buffers and optimizer state; vanilla and distillation; with no
workers and with persistent workers; and the same run with --compile."""
import signal
from pathlib import Path

import pytest
import torch

from conftest import Forked

REPO = Path(__file__).resolve().parents[2]
VANILLA = 'configs/vanilla/wrn16-w2_b128x1_cifar10.py'
KD = 'configs/kd/wrn40-2_to_wrn16-2.py'
TINY = {
    VANILLA: ['model.backbone.depth=10', 'model.backbone.widen_factor=1'],
    KD: ['model.architecture.backbone.depth=10',
         'model.architecture.backbone.widen_factor=1',
         'model.teacher.backbone.depth=10',
         'model.teacher.backbone.widen_factor=2',
         'model.teacher_ckpt=None'],
}
EPOCHS = 2  # two iterations each


def workers(count: int) -> list:
    return [f'train_dataloader.num_workers={count}',
            f'train_dataloader.persistent_workers={count > 0}']


@pytest.fixture(scope='module')
def data(make_tiny_cifar10):
    return make_tiny_cifar10(per_class_train=2, per_class_test=1)


def options(config, data, data_options, num_workers, epochs=EPOCHS):
    return ['--cfg-options', *data_options(data, 10), *TINY[config],
            *workers(num_workers), f'train_cfg.max_epochs={epochs}',
            'randomness.seed=0', 'randomness.deterministic=True']


def train(tools, config, work_dir, opts, resume=False):
    tools['train'].main([config, '--work-dir', str(work_dir), '--no-validate',
                         *(['--resume'] if resume else []), *opts])
    return torch.load(work_dir / f'epoch_{EPOCHS}.pth', weights_only=True) \
        if (work_dir / f'epoch_{EPOCHS}.pth').exists() else None


@pytest.fixture(scope='module')
def reference(tmp_path_factory, data, data_options, tools):
    """Each config's uninterrupted run, without workers."""
    return {
        config: train(tools, config, tmp_path_factory.mktemp('ref'),
                      options(config, data, data_options, 0))
        for config in (VANILLA, KD)
    }


def assert_identical(ours: dict, reference: dict) -> None:
    assert ours['meta']['iter'] == reference['meta']['iter'] == 2 * EPOCHS
    state, ref_state = ours['state_dict'], reference['state_dict']
    assert state.keys() == ref_state.keys()
    assert any('running_mean' in k for k in state)
    for key in state:
        assert torch.equal(state[key], ref_state[key]), key
    moments = ours['optimizer']['state']
    ref_moments = reference['optimizer']['state']
    assert len(moments) == len(ref_moments) > 0
    for index in moments:
        assert torch.equal(moments[index]['momentum_buffer'],
                           ref_moments[index]['momentum_buffer'])


@pytest.mark.parametrize('config', [VANILLA, KD])
def test_stopped_after_an_epoch_resumes_exactly(config, data, data_options,
                                                tools, reference, tmp_path):
    # No workers: nothing but the checkpoint carries state across the stop.
    train(tools, config, tmp_path,
          options(config, data, data_options, 0, epochs=1))
    resumed = train(tools, config, tmp_path,
                    options(config, data, data_options, 0), resume=True)
    assert_identical(resumed, reference[config])


@pytest.mark.parametrize('config', [VANILLA, KD])
def test_sigkill_mid_epoch_resumes_exactly(config, data, data_options, tools,
                                           reference, tmp_path):
    # Persistent workers, compared with the run without workers. A config
    # that adds the killing hook; the resumed run uses the real one. Both
    # run in forked processes: persistent workers of a Runner left to this
    # process's garbage collector time out (5 s each) instead of exiting.
    killing = tmp_path / 'killed_at_iter_3.py'
    killing.write_text(
        f'_base_ = [{str(REPO / config)!r}]\n'
        "custom_imports = dict(imports=['razor_wrn', 'sigkill_hook'], "
        'allow_failed_imports=False)\n'
        "default_hooks = dict(sigkill=dict(type='SigkillHook', "
        'at_iter=3))\n')
    opts = options(config, data, data_options, 2)
    code, output = Forked(tools['train'].main, [
        str(killing), '--work-dir', str(tmp_path), '--no-validate',
        *opts]).wait()
    assert code == -signal.SIGKILL, output[-2000:]
    # Killed in epoch 2, after its first step: epoch 1 is all that is saved.
    assert (tmp_path / 'epoch_1.pth').exists()
    assert not (tmp_path / 'epoch_2.pth').exists()
    code, output = Forked(tools['train'].main, [
        config, '--work-dir', str(tmp_path), '--no-validate', '--resume',
        *opts]).wait()
    assert code == 0, output[-2000:]
    assert_identical(torch.load(tmp_path / f'epoch_{EPOCHS}.pth',
                                weights_only=True), reference[config])


@pytest.mark.parametrize('config', [VANILLA, KD])
def test_compile_with_workers_trains_what_the_standard_loop_trains(
        config, data, data_options, tools, reference, tmp_path):
    # The captured loop's workers make whole batches from arrays of the
    # split (the views drawn per epoch as the pipeline draws them); the
    # reference ran the per-image pipeline in this process.
    code, output = Forked(tools['train'].main, [
        config, '--work-dir', str(tmp_path), '--no-validate', '--compile',
        *options(config, data, data_options, 2)]).wait()
    assert code == 0, output[-2000:]
    assert 'whole batches made from arrays of the split' in output
    assert_identical(torch.load(tmp_path / f'epoch_{EPOCHS}.pth',
                                weights_only=True), reference[config])
