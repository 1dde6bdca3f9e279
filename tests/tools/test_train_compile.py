"""tools/train.py --compile, --amp fp16|bf16 and --channels-last: what each
does to the config, the errors, and a run with --compile on a CPU."""
import pytest

from conftest import run_tool
from razor_wrn.apis import train as train_api
from razor_wrn.cli import UserError, load_config

DEVICE = 'configs/vanilla/wrn16-w2_b128x1_cifar10_device.py'
VANILLA = 'configs/vanilla/wrn16-w2_b128x1_cifar10.py'


def merged(tools, *argv, config=VANILLA):
    args = tools['train'].parse_args([config, *argv])
    return tools['train'].merge_args(
        load_config(config, args.cfg_options), args)


def test_compile_selects_the_captured_loop_with_the_configs_epochs(tools):
    cfg = merged(tools, '--compile', '--cfg-options', 'train_cfg.max_epochs=7',
                 'train_cfg.val_interval=3')
    assert cfg.train_cfg == dict(type='CapturedEpochBasedTrainLoop',
                                 max_epochs=7, val_interval=3)


def test_compile_takes_a_config_that_names_its_epoch_loop(tools):
    # Such a train_cfg has no by_epoch (mmengine refuses both): the type
    # says that it trains by epochs.
    cfg = load_config(VANILLA)
    for loop in ('EpochBasedTrainLoop', 'CapturedEpochBasedTrainLoop'):
        cfg.train_cfg = dict(type=loop, max_epochs=7, val_interval=3)
        train_api.use_captured_loop(cfg)
        assert cfg.train_cfg == dict(type='CapturedEpochBasedTrainLoop',
                                     max_epochs=7, val_interval=3)


def test_compile_refuses_an_iteration_based_loop(tools):
    with pytest.raises(UserError, match='--compile needs an epoch-based'):
        merged(tools, '--compile', '--cfg-options', 'train_cfg.by_epoch=False')
    cfg = load_config(VANILLA)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=10)
    with pytest.raises(UserError, match='--compile needs an epoch-based'):
        train_api.use_captured_loop(cfg)


def test_amp_bf16_and_fp16(tools, monkeypatch):
    monkeypatch.setattr(train_api, 'get_device', lambda: 'cuda')
    cfg = merged(tools, '--amp', 'bf16')
    assert (cfg.optim_wrapper.type, cfg.optim_wrapper.device_type) == (
        'BF16AutocastOptimWrapper', 'cuda')
    cfg = merged(tools, '--amp', 'fp16')
    assert (cfg.optim_wrapper.type, cfg.optim_wrapper.loss_scale) == (
        'AmpOptimWrapper', 'dynamic')
    cfg = merged(tools, '--amp')  # a GPU: fp16, as before
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    monkeypatch.setattr(train_api, 'get_device', lambda: 'cpu')
    with pytest.raises(UserError, match='--amp fp16 needs a GPU'):
        merged(tools, '--amp', 'fp16')


def test_channels_last_adds_the_hook_once(tools):
    cfg = merged(tools, '--channels-last')
    assert [h['type'] for h in cfg.custom_hooks] == ['ChannelsLastHook']
    # A config that has it already keeps one.
    args = tools['train'].parse_args([VANILLA, '--channels-last'])
    cfg = load_config(VANILLA)
    cfg.custom_hooks = [dict(type='EMAHook'), dict(type='ChannelsLastHook')]
    cfg = tools['train'].merge_args(cfg, args)
    assert [h['type'] for h in cfg.custom_hooks] == ['EMAHook',
                                                     'ChannelsLastHook']


def test_a_compiled_run_on_a_cpu_says_its_steps_are_eager(
        tools, tmp_path, make_tiny_cifar10, capsys):
    data = make_tiny_cifar10(per_class_train=2, per_class_test=1)
    code, out = run_tool(tools['train'], [
        DEVICE, '--compile', '--amp', 'bf16', '--channels-last',
        '--work-dir', str(tmp_path), '--cfg-options',
        'train_cfg.max_epochs=1', 'model.backbone.depth=10',
        'model.backbone.widen_factor=1', 'recipe_world_size=None',
        *[f'{loader}_dataloader.{key}' for loader in ('train', 'val', 'test')
          for key in (f'data_root={data}', 'batch_size=8', 'device=cpu')]],
        capsys)
    assert code == 0, out.err
    assert 'Eager training steps on tensor batches: CUDA graphs need a CUDA ' \
        'device (the model is on cpu).' in out.out + out.err
    assert (tmp_path / 'epoch_1.pth').is_file()
