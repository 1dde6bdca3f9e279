"""``tools/analysis_tools/benchmark.py`` on WRN-10-1 and a few images: every
figure is there, the ratios are the quotients of the figures, and the
hand-written limit computes the config's own loss.

No timing is asserted: speed is measured by running the tool, not by tests.
"""
import math
import os
import statistics
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

import razor_wrn  # noqa: F401  (compat shim before any mmrazor import)
from conftest import load_tool
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmpretrain.structures import DataSample
from mmrazor.registry import MODELS

from razor_wrn.analysis import random_images
from razor_wrn.cli import UserError
from razor_wrn.datasets import SeededBatchSampler
from razor_wrn.datasets.device_cifar import DeviceCIFAR10Loader
from razor_wrn.datasets.virtual_ranks import VirtualRankSampler
from razor_wrn.engine.train_recipe import apply_train_recipe
from razor_wrn.engine.loops import TensorValLoop

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning')

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
VANILLA = str(CONFIGS / 'vanilla/wrn16-w2_b128x1_cifar10.py')
KD = str(CONFIGS / 'kd/wrn40-2_to_wrn16-2.py')
DKD = str(CONFIGS / 'kd/dkd_wrn40-2_to_wrn16-2.py')
AT = str(CONFIGS / 'kd/at_wrn40-2_to_wrn16-2.py')
# WRN-10-1: the code paths of WRN-16-2 / WRN-40-2 at a fraction of the cost.
TINY_NET = ['backbone.depth=10', 'backbone.widen_factor=1']
TINY = {VANILLA: [f'model.{key}' for key in TINY_NET]}
TINY[KD] = TINY[DKD] = TINY[AT] = [
    f'model.{part}.{key}' for part in ('architecture', 'teacher')
    for key in TINY_NET]
# In-process loading keeps worker start-up out of the test, and unserialised
# datasets the full garbage collection mmengine runs before serialising.
IN_PROCESS = [f'{loader}_dataloader.{key}' for loader in ('train', 'val')
              for key in ('num_workers=0', 'persistent_workers=False',
                          'dataset.serialize_data=False')]
# 8: the KD configs are the b16x8 recipe, so a step holds 8 BatchNorm
# groups (here of 1 image), as tools/train.py trains them on one process.
BATCH, REPEATS = 8, 2


@pytest.fixture(scope='module')
def tool():
    return load_tool('analysis_tools/benchmark.py')


@pytest.fixture(scope='module')
def hand_steps(tool):
    from razor_wrn.analysis import hand_steps
    return hand_steps


@pytest.fixture(scope='module')
def runner_steps(tool):
    from razor_wrn.analysis import benchmark_loop
    return benchmark_loop


@pytest.fixture(autouse=True)
def keep_cuda_visible(monkeypatch):
    """--device cpu hides CUDA for the tool's process; undo it after."""
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES',
                       os.environ.get('CUDA_VISIBLE_DEVICES', ''))


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: two OpenMP threads on a busy 2-core machine
    can make each step many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run(tool, config, *extra):
    return tool.main([
        config, '--iters', '2', '--warmup', '1', '--repeats', str(REPEATS),
        '--batch-size', str(BATCH), *extra,
        '--cfg-options', *TINY[config], *IN_PROCESS])


def check_result(result, expected_figures: set) -> None:
    """All figures present and positive; ratios = quotients of medians."""
    assert set(result.figures) == expected_figures
    for figure in result.figures.values():
        assert figure.batch_size == BATCH
        assert len(figure.img_per_s) == REPEATS
        assert all(math.isfinite(v) and v > 0 for v in figure.img_per_s)
        assert figure.median == statistics.median(figure.img_per_s)
        assert figure.peak_mib == []  # per-figure memory on CUDA only
    median = {name: figure.median for name, figure in result.figures.items()}
    # Written out here, not read from the tool's table, so a swapped
    # numerator and denominator there fails.
    expected = {
        'Runner/limit train': median['runner_train'] / median['hand_train'],
        'Runner/limit eval': median['runner_eval'] / median['hand_eval'],
    }
    if 'hand_student' in median:  # step time: plain img/s over KD img/s
        expected['KD/plain time (hand)'] = \
            median['hand_student'] / median['hand_train']
        expected['KD/plain time (Runner)'] = \
            median['hand_student'] / median['runner_train']
    if 'runner_train_device' in median:
        expected['device/standard loader'] = \
            median['runner_train_device'] / median['runner_train']
    assert result.ratios == pytest.approx(expected)
    assert 'MiB resident' in result.settings['peak memory']


def test_vanilla_config_real_data_and_device_loader(tool, tiny_cifar10,
                                                   capsys, monkeypatch):
    tensor_iters = []
    timed = TensorValLoop.run_tensor_iter
    monkeypatch.setattr(TensorValLoop, 'run_tensor_iter',
                        lambda loop, *args: tensor_iters.append(1) or timed(
                            loop, *args))
    result = run(tool, VANILLA, '--data', 'real', '--data-root',
                 tiny_cifar10, '--device-loader')
    check_result(result, {'runner_train', 'runner_train_device',
                          'hand_train', 'runner_eval', 'hand_eval'})
    # The eval figure times the val loop's own path: tensor batches of the
    # standard loader's whole batches.
    assert result.settings['val loop'] == 'TensorValLoop (tensor batches)'
    assert tensor_iters
    assert tiny_cifar10 in result.settings['data']
    assert result.settings['memory format'] == 'contiguous (NCHW)'
    # Only machine noise (other tests running beside this one) may add a
    # note, a Runner/limit above 1: a hand-written limit exists and segments
    # hold no epoch start. (The eval figures, on tensor batches now, do
    # nearly the same work, so noise often puts their ratio above 1.)
    assert [note for note in result.notes
            if 'above 1, so its segments were not alike' not in note] == []
    printed = capsys.readouterr().out
    for text in ('Runner train iteration, device loader',
                 'hand-written train step', 'Runner/limit train',
                 'device/standard loader', f'train {BATCH}, val {BATCH}'):
        assert text in printed


def test_kd_config_synthetic_data_and_channels_last(tool):
    result = run(tool, KD, '--channels-last')
    check_result(result, {'runner_train', 'hand_train', 'hand_student',
                          'runner_eval', 'hand_eval'})
    assert 'distillation' in result.settings['model']
    assert result.settings['data'].startswith('synthetic')
    # Timed as tools/train.py trains it on one process: the b16x8 recipe's
    # 8 ghost BatchNorm groups (TrainRecipeHook refuses a step without).
    assert result.settings['batch'] == (
        f'train {BATCH} (b1x8 recipe on 1 process: {BATCH} images per step '
        f'in 8 BatchNorm groups of 1), val {BATCH}')
    # ChannelsLastHook, added by --channels-last, converted the model.
    assert result.settings['memory format'] == 'channels_last'


@pytest.mark.parametrize('extra', [
    ['--iters', '0'], ['--amp', 'bf16'], ['--image-size', '0'],
    ['--profile', '-1'],
    ['--batch-size', '0'],
    ['--image-size', '2', '--device-loader']])
def test_bad_options_are_user_errors(tool, extra):
    # --amp on the CPU: mmengine's AmpOptimWrapper refuses it.
    with pytest.raises(UserError):
        tool.main([VANILLA, *extra])


def test_a_batch_size_the_recipe_cannot_split_is_a_user_error(tool):
    with pytest.raises(UserError, match='not a multiple of this config.s 8 '
                       'recipe processes'):
        tool.main([KD, '--batch-size', '12'])


def test_device_loader_needs_a_standard_config(runner_steps, tiny_cifar10):
    loader = DeviceCIFAR10Loader(tiny_cifar10, batch_size=BATCH, device='cpu')
    with pytest.raises(UserError, match='already uses the device loader'):
        runner_steps.device_loader_like(loader, torch.device('cpu'))


def test_the_device_loader_deals_a_recipes_ranks(runner_steps,
                                                tiny_cifar10):
    """--device-loader beside a b16x8 config: the device loader draws as
    the recipe's 8 ranks, so every batch splits into the ghost groups."""
    cfg = Config.fromfile(KD)
    apply_train_recipe(cfg, world_size=1)
    standard = random_standard_like(cfg.train_dataloader, tiny_cifar10).like
    loader = runner_steps.device_loader_like(standard, torch.device('cpu'))
    assert loader.batch_size == 128
    assert loader.sampler.virtual_ranks == dict(world_size=8, batch_size=16)
    plain = runner_steps.device_loader_like(
        random_standard_like(Config.fromfile(VANILLA).train_dataloader,
                             tiny_cifar10).like, torch.device('cpu'))
    assert plain.sampler.virtual_ranks is None


def tiny_model(config):
    cfg = Config.fromfile(config)
    cfg.merge_from_dict({option.split('=')[0]: int(option.split('=')[1])
                         for option in TINY[config]})
    if 'teacher_ckpt' in cfg.model:
        cfg.model.teacher_ckpt = None
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(cfg.model).train()


@pytest.mark.parametrize('config', [VANILLA, KD, DKD],
                         ids=['vanilla', 'kd', 'dkd'])
def test_limit_loss_is_the_models_loss(hand_steps, config):
    model = tiny_model(config)
    torch.manual_seed(0)
    images = torch.randn(4, 3, 32, 32)
    labels = torch.tensor([0, 3, 5, 9])
    samples = [DataSample().set_gt_label(int(label)) for label in labels]
    expected = sum(model.loss(images, samples).values())
    expected.backward()
    expected_grads = [p.grad.clone() for p in model.parameters()
                      if p.grad is not None]
    model.zero_grad(set_to_none=True)

    loss = hand_steps.LimitLoss(model)(images, labels)
    loss.backward()
    # Same value and gradients (weights, temperature, CE weight, DKD's
    # labels); for DKD a Hinton KD term at its temperature would differ.
    torch.testing.assert_close(loss, expected)
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    torch.testing.assert_close(grads, expected_grads)
    if config != VANILLA:
        assert all(p.grad is None for p in model.teacher.parameters())


def test_limit_refuses_a_feature_loss(hand_steps, tool):
    model = tiny_model(AT)
    with pytest.raises(hand_steps.LimitUnavailable,
                       match="loss_at_layer1.*'backbone.layer1'"):
        hand_steps.LimitLoss(model)
    # The student's plain step needs no distillation records.
    plain = hand_steps.LimitLoss(model, student_only=True)
    assert plain(torch.randn(2, 3, 32, 32), torch.tensor([0, 1])).ndim == 0


def test_compile_times_the_captured_loop_and_prints_overhead_and_epoch_costs(
        tool, capsys):
    result = run(tool, KD, '--compile')
    check_result(result, {'runner_train', 'hand_train', 'hand_student',
                          'runner_eval', 'hand_eval'})
    # On the CPU the captured loop runs eager steps on tensor batches.
    assert result.settings['train loop'] == \
        'CapturedEpochBasedTrainLoop (eager steps)'
    assert result.settings['train loader'] == (
        'DataLoader, 0 workers, whole batches made from arrays of the split')
    costs = result.epoch_costs
    assert set(costs) == {'epoch start', 'validation', 'checkpoint',
                          'checkpoint MiB', 'steps per epoch'}
    assert costs['validation'] > 0 and costs['checkpoint'] > 0
    printed = capsys.readouterr().out
    train, limit = result.figures['runner_train'], result.figures[
        'hand_train']
    overhead = 1000 * BATCH * (1 / train.median - 1 / limit.median)
    assert f'Runner host overhead    {overhead:>6.2f} ms per step' in printed
    steps = costs['steps per epoch']
    # Synthetic data: one segment's 3 x BATCH images rounded up to a whole
    # number per class (30), in batches of BATCH (the last one padded by
    # the recipe's sampler, as mmengine's pads its ranks).
    images = 10 * -(-3 * BATCH // 10)
    assert steps == -(-images // BATCH) == 4
    spread = overhead + 1000 * costs['epoch start'] / steps
    assert (f'  with the epoch start  {spread:>6.2f} ms per step, spread '
            f"over the epoch's {steps:.0f} steps") in printed
    assert f'validation {1000 * costs["validation"]:.1f} ms' in printed


def test_cfg_options_keep_spaces_and_take_a_quoted_value_whole(tool):
    # mmengine's DictAction gives 'runs/ab' and ['x', 'y'].
    args = tool.parse_args([VANILLA, '--cfg-options', 'work_dir=runs/a b',
                            "visualizer.name='x, y'", 'train_cfg.max_epochs=3'])
    assert args.cfg_options == {'work_dir': 'runs/a b',
                                'visualizer.name': 'x, y',
                                'train_cfg.max_epochs': 3}


def test_image_size_trains_on_random_tiny_images_timed_by_cpu_clock(
        tool, capsys):
    result = run(tool, VANILLA, '--image-size', '2', '--clock', 'cpu',
                 '--profile', '3')
    check_result(result, {'runner_train', 'hand_train', 'runner_eval',
                          'hand_eval'})
    assert result.settings['images'] == 'train: random 2x2, val: the data'
    assert result.settings['timing'].endswith('process CPU time')
    # --profile: both training steps, profiled after the timing.
    assert set(result.profiles) == {'runner_train', 'hand_train'}
    printed = capsys.readouterr().out
    for name, label in (('runner_train', 'Runner train iteration'),
                        ('hand_train', 'hand-written train step (limit)')):
        table = result.profiles[name]
        assert table.splitlines()[0].endswith(
            'per step (nested ones included) (2 steps profiled)')
        assert 'aten::convolution_backward' in table
        assert f'profile: {label}: {table}' in printed


def test_random_images_make_an_epoch_as_long_as_cifars(runner_steps):
    split = type('Split', (), dict(
        metainfo=dict(classes=tuple('abcdefghij')),
        __len__=lambda self: 640))()
    like = SimpleNamespace(batch_size=128, dataset=split)
    loader = random_images.random_image_loader(like, 2, torch.device('cpu'))
    # 50,000 images in batches of 128, as a CIFAR epoch: LogIntervalHook
    # then logs every 39th iteration, as in a real run (not every one).
    assert len(loader) == 391 and loader.batch_size == 128
    assert loader.images.shape == (50000, 3, 2, 2)
    assert int(loader.labels.max()) < 10


def test_random_images_keep_a_standard_loaders_settings(tiny_cifar10):
    """Workers, collate, sampler (type and seed), batch sampler and
    pipeline as the config's, the crop scaled to the images; the config's
    loader keeps its own pipeline."""
    cfg = Config.fromfile(VANILLA)
    loader = random_standard_like(cfg.train_dataloader, tiny_cifar10)
    like = loader.like
    assert len(loader.dataset) == 50000
    assert (loader.num_workers, loader.collate_fn) == (0, like.collate_fn)
    batches, like_batches = loader.batch_sampler, like.batch_sampler
    assert type(batches) is type(like_batches) is SeededBatchSampler
    assert (batches.batch_size, batches.drop_last) == (128, False)
    assert type(batches.sampler) is type(like_batches.sampler)
    assert batches.sampler.seed == like_batches.sampler.seed == 7
    crop, = [t for t in loader.dataset.pipeline.transforms
             if hasattr(t, 'crop_size')]
    assert (crop.crop_size, crop.padding) == (2, 0)
    original, = [t for t in like.dataset.pipeline.transforms
                 if hasattr(t, 'crop_size')]
    assert (original.crop_size, original.padding) == (32, 4)
    batch = next(iter(loader))
    assert batch['inputs'].shape == (128, 3, 2, 2)
    assert batch['inputs'].dtype == torch.uint8
    assert {sample.flip for sample in batch['data_samples']} == {True, False}


def random_standard_like(loader_cfg, data_root: str):
    """``random_standard_loader`` of 2x2 images like the loader that
    ``loader_cfg`` builds on ``data_root`` (seed 7, no workers); the
    config's loader is kept as ``.like``."""
    loader_cfg.dataset.data_root = data_root
    loader_cfg.num_workers, loader_cfg.persistent_workers = 0, False
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        like = Runner.build_dataloader(loader_cfg.to_dict(), seed=7)
    loader = random_images.random_standard_loader(like, 2)
    loader.like = like
    return loader


def test_random_images_keep_the_recipes_ranks(tiny_cifar10):
    """A b16x8 config on one process: the random images are dealt as the
    8 recipe ranks' groups of 16, as the config's own sampler deals them."""
    cfg = Config.fromfile(KD)
    apply_train_recipe(cfg, world_size=1)
    loader = random_standard_like(cfg.train_dataloader, tiny_cifar10)
    sampler, like = loader.batch_sampler.sampler, \
        loader.like.batch_sampler.sampler
    assert type(sampler) is type(like) is VirtualRankSampler
    assert (sampler.recipe_world_size, sampler.batch_size, sampler.seed) == \
        (8, 16, 7)
    assert loader.batch_sampler.batch_size == 128
    # Batch 0 holds the first 16 samples of each recipe rank in turn: rank
    # r's are positions r, r + 8, ... of the seeded permutation.
    order = torch.randperm(50000, generator=torch.Generator().manual_seed(7))
    first = next(iter(loader.batch_sampler))
    assert first == [int(order[r + 8 * i]) for r in range(8)
                     for i in range(16)]
