"""``tools/analysis_tools/benchmark.py`` end to end on a tiny WRN: every
figure is there and positive, the ratios are the quotients of the figures,
and the hand-written loop's networks are faithful, hook-free copies.

No timing is asserted: speed is measured by running the tool (see its
docstring), not by tests.
"""
import importlib.util
import math
import os
import statistics
from pathlib import Path
from types import ModuleType
from typing import List

import pytest
import torch

import razor_wrn  # noqa: F401  (compat shim before any mmrazor import)
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmrazor.registry import MODELS

from razor_wrn.analysis.hand_steps import logits_net
from razor_wrn.analysis.report import LABELS
from razor_wrn.cli import UserError
from razor_wrn.engine.hooks import ChannelsLastHook

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning')

REPO = Path(__file__).resolve().parents[2]
VANILLA = str(REPO / 'configs/vanilla/wrn16-w2_b128x1_cifar10.py')
KD = str(REPO / 'configs/kd/wrn40-2_to_wrn16-2.py')

# WRN-10-1 everywhere: the same code paths as WRN-16-2 / WRN-40-2, ~50x less
# compute.
TINY_VANILLA = [
    'model.backbone.depth=10', 'model.backbone.widen_factor=1',
    'model.head.in_channels=64'
]
TINY_KD = [
    f'model.{part}.{key}' for part in ('architecture', 'teacher')
    for key in ('backbone.depth=10', 'backbone.widen_factor=1',
                'head.in_channels=64')
]
# In-process loading keeps the test free of worker start-up time.
IN_PROCESS_LOADERS = [
    f'{loader}_dataloader.{key}' for loader in ('train', 'val', 'test')
    for key in ('num_workers=0', 'persistent_workers=False')
]
BATCH = 4
REPEATS = 2


def load_tool() -> ModuleType:
    """The benchmark script as a module, so the test calls its ``main``."""
    path = REPO / 'tools' / 'analysis_tools' / 'benchmark.py'
    spec = importlib.util.spec_from_file_location('benchmark_tool', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def tool() -> ModuleType:
    return load_tool()


@pytest.fixture(autouse=True)
def keep_cuda_visible(monkeypatch):
    """The tool hides CUDA devices for --device cpu (its process is the
    benchmark's); restore the variable for the tests that follow."""
    # setenv records the original value, or its absence, for teardown;
    # an absent variable is then removed again for the test itself.
    absent = 'CUDA_VISIBLE_DEVICES' not in os.environ
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES',
                       os.environ.get('CUDA_VISIBLE_DEVICES', ''))
    if absent:
        monkeypatch.delenv('CUDA_VISIBLE_DEVICES')


def device() -> str:
    """CUDA once this process sees it (then the Runner trains there),
    otherwise the CPU."""
    return 'cuda' if torch.cuda.is_available() else 'cpu'


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: two OpenMP threads on a busy 2-core machine
    (other tests running) can make each step ~50x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_args(config: str, tiny: List[str], *extra: str) -> List[str]:
    return [
        config, '--iters', '2', '--warmup', '1', '--repeats',
        str(REPEATS), '--batch-size',
        str(BATCH), '--device',
        device(), *extra, '--cfg-options', *tiny, *IN_PROCESS_LOADERS
    ]


def check_result(result, expected_figures: set) -> None:
    """All figures present and positive; ratios = quotients of medians."""
    assert set(result.figures) == expected_figures
    for name, figure in result.figures.items():
        assert figure.name == name
        assert figure.images_per_step == BATCH
        assert len(figure.img_per_s) == REPEATS
        assert len(figure.peak_mem_mib) == REPEATS
        assert all(math.isfinite(v) and v > 0 for v in figure.img_per_s)
        assert all(math.isfinite(v) and v >= 0 for v in figure.peak_mem_mib)
        assert figure.median_img_per_s == statistics.median(
            figure.img_per_s)
    median = {name: figure.median_img_per_s
              for name, figure in result.figures.items()}
    # Written out here, not read from the code's table, so a swapped
    # numerator and denominator there fails.
    expected = {
        'Runner/limit train': median['runner_train'] / median['hand_train'],
        'Runner/limit eval': median['runner_eval'] / median['hand_eval'],
    }
    if 'hand_student' in median:
        # Step time ratios: plain img/s over KD img/s.
        expected['KD/plain time (hand)'] = \
            median['hand_student'] / median['hand_train']
        expected['KD/plain time (Runner)'] = \
            median['hand_student'] / median['runner_train']
    if 'runner_train_device' in median:
        expected['device/standard loader'] = \
            median['runner_train_device'] / median['runner_train']
    assert result.ratios == pytest.approx(expected)
    for key in ('device', 'threads', 'batch', 'data', 'versions'):
        assert result.settings[key]


def test_vanilla_config(tool, capsys):
    result = tool.main(tiny_args(VANILLA, TINY_VANILLA))
    check_result(result,
                 {'runner_train', 'hand_train', 'runner_eval', 'hand_eval'})
    assert 'plain classifier' in result.settings['model']
    assert result.settings['memory format'].startswith('contiguous')
    printed = capsys.readouterr().out
    for name in result.figures:
        assert LABELS[name] in printed
    for name in result.ratios:
        assert name in printed
    assert f'train {BATCH}, val {BATCH}' in printed


def test_kd_config_has_the_student_only_step(tool):
    result = tool.main(tiny_args(KD, TINY_KD))
    check_result(result, {
        'runner_train', 'hand_train', 'hand_student', 'runner_eval',
        'hand_eval'
    })
    assert 'KD/plain time (hand)' in result.ratios
    assert 'distillation' in result.settings['model']


def test_real_data_and_channels_last(tool, tiny_cifar10):
    result = tool.main(
        tiny_args(VANILLA, TINY_VANILLA, '--data', 'real', '--data-root',
                  tiny_cifar10, '--channels-last'))
    check_result(result,
                 {'runner_train', 'hand_train', 'runner_eval', 'hand_eval'})
    assert tiny_cifar10 in result.settings['data']
    # ChannelsLastHook, added by --channels-last, converted the Runner's
    # model.
    assert result.settings['memory format'] == 'channels_last'


def test_device_loader_runs_the_same_runner(tool, tiny_cifar10, capsys):
    result = tool.main(
        tiny_args(VANILLA, TINY_VANILLA, '--data', 'real', '--data-root',
                  tiny_cifar10, '--device-loader'))
    check_result(result, {
        'runner_train', 'runner_train_device', 'hand_train', 'runner_eval',
        'hand_eval'
    })
    assert 'device/standard loader' in capsys.readouterr().out


def test_device_loader_needs_a_standard_config(tool, tiny_cifar10):
    device_config = str(
        REPO / 'configs/vanilla/wrn16-w2_b128x1_cifar10_device.py')
    with pytest.raises(UserError, match='already uses the device loader'):
        tool.main(tiny_args(device_config, TINY_VANILLA, '--data', 'real',
                            '--data-root', tiny_cifar10, '--device-loader'
                            )[:-len(IN_PROCESS_LOADERS)])


@pytest.mark.parametrize('extra', [['--iters', '0'],
                                   ['--amp', 'bf16', '--device', 'cpu']])
def test_bad_options_are_user_errors(tool, extra):
    # --amp on the CPU: mmengine's AmpOptimWrapper refuses it.
    with pytest.raises(UserError):
        tool.main([VANILLA, *extra])


def tiny_kd_algorithm():
    cfg = Config.fromfile(KD)
    cfg.merge_from_dict(
        {option.split('=')[0]: int(option.split('=')[1])
         for option in TINY_KD})
    cfg.model.teacher_ckpt = None
    # Runners built by other tests leave their scope as the default one.
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(cfg.model)


def test_hand_networks_are_hook_free_copies():
    algorithm = tiny_kd_algorithm()
    algorithm.eval()
    inputs = torch.randn(2, 3, 32, 32)
    for classifier in (algorithm.student, algorithm.teacher):
        net = logits_net(classifier).eval()
        with torch.no_grad():
            torch.testing.assert_close(
                net(inputs), classifier(inputs, mode='tensor'))
        # mmrazor's recorder hooks stay on the algorithm, not the copy.
        assert classifier.head.fc._forward_hooks
        assert not any(module._forward_hooks for module in net.modules())
        # A copy: training it leaves the algorithm's weights alone.
        assert all(a.data_ptr() != b.data_ptr() for a, b in zip(
            net.parameters(), classifier.parameters()))


def test_channels_last_hook_converts_parameters_in_place():
    algorithm = tiny_kd_algorithm()
    conv = algorithm.student.backbone.conv1
    weight = conv.weight

    class FakeRunner:
        model = algorithm

    ChannelsLastHook().before_run(FakeRunner())
    # Same Parameter object (an optimizer built earlier keeps working).
    assert conv.weight is weight
    assert weight.is_contiguous(memory_format=torch.channels_last)
    assert not weight.is_contiguous()
