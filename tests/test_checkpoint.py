"""Safe checkpoint loading: mmengine checkpoints round-trip, files that would
run code are refused without running it, and every failure is one readable
:class:`CheckpointError`."""
import collections
import hashlib
import logging
import os
import pickle
import shlex
import shutil
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import razor_wrn  # noqa: F401  (applies the safe loaders)
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import CheckpointLoader
from mmengine.runner import checkpoint as mmengine_checkpoint
from mmengine.runner.checkpoint import save_checkpoint

from conftest import Forked
from razor_wrn import checkpoint as safe
from razor_wrn.checkpoint import (CheckpointError, load_checkpoint_file,
                                  load_weights_strictly, state_dict_of)
from razor_wrn.models.backbones import WideResNet

URL = 'https://example.com/models/wrn.pth'


# --------------------------------------------------------------- payloads
class RunsShellCommand:
    """Pickles as ``os.system(command)``: loading it would run the command."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command, ))


class GetAttr:
    """Pickles as ``builtins.getattr(owner, name)``."""

    def __init__(self, owner, name: str) -> None:
        self.owner, self.name = owner, name

    def __reduce__(self):
        return (getattr, (self.owner, self.name))


def save_payload(path: Path, marker: Path) -> Path:
    torch.save({'state_dict': {'w': torch.ones(1)},
                'meta': RunsShellCommand(f'touch {shlex.quote(str(marker))}')},
               path)
    return path


def wrn(depth: int, width: int = 1) -> WideResNet:
    torch.manual_seed(0)
    return WideResNet(depth=depth, widen_factor=width)


def mmengine_style_checkpoint():
    """What mmengine's Runner saves: weights, optimizer and scheduler state
    (its milestones are a ``Counter``), the message hub's HistoryBuffers
    holding numpy values, numpy scalars in ``meta``."""
    model = nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(4, 3)).sum().backward()
    optimizer.step()
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, [100, 150])
    hub = MessageHub('checkpoint_test_hub')
    hub.update_scalar('train/loss', np.float64(2.5))
    hub.update_scalar('train/loss', 1.5, count=3)
    hub.update_scalar('train/lr', np.float32(0.1))
    hub.update_info('iter', np.int64(30))
    return {
        'meta': {'epoch': 3, 'iter': 30, 'seed': np.int64(1234),
                 'best_score': np.float32(71.25),
                 'dataset_meta': {'classes': ('cat', 'dog')}},
        'state_dict': model.state_dict(),
        'optimizer': optimizer.state_dict(),
        'param_schedulers': [scheduler.state_dict()],
        'message_hub': hub.state_dict(),
        'histogram': np.arange(6, dtype=np.int32).reshape(2, 3),
    }


def assert_mmengine_checkpoint_equal(loaded, saved):
    assert loaded['meta'] == saved['meta']
    assert type(loaded['meta']['seed']) is np.int64
    assert type(loaded['meta']['best_score']) is np.float32
    assert loaded['state_dict'].keys() == saved['state_dict'].keys()
    for key, value in saved['state_dict'].items():
        assert torch.equal(loaded['state_dict'][key], value)
    momentum = loaded['optimizer']['state'][0]['momentum_buffer']
    assert torch.equal(momentum, saved['optimizer']['state'][0]
                       ['momentum_buffer'])
    milestones = loaded['param_schedulers'][0]['milestones']
    assert type(milestones) is collections.Counter
    assert milestones == collections.Counter({100: 1, 150: 1})
    assert loaded['message_hub']['runtime_info'] == OrderedDict(iter=30)
    assert type(loaded['message_hub']['runtime_info']['iter']) is np.int64
    loss = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(loss, HistoryBuffer)
    logs, counts = loss.data
    np.testing.assert_array_equal(logs, [2.5, 1.5])
    np.testing.assert_array_equal(counts, [1, 3])
    # The statistics methods were pickled as getattr(HistoryBuffer, name).
    assert loss.mean() == 1.0  # (2.5 + 1.5) / (1 + 3)
    assert loss.statistics('current') == 1.5
    assert loss.statistics('max') == 2.5
    assert loss.statistics('min') == 1.5
    np.testing.assert_array_equal(loaded['histogram'],
                                  np.arange(6).reshape(2, 3))
    assert loaded['histogram'].dtype == np.int32


# ----------------------------------------------------- round trip (local)
def test_mmengine_checkpoint_round_trips_through_the_safe_loader(tmp_path):
    saved = mmengine_style_checkpoint()
    path = str(tmp_path / 'epoch_3.pth')
    save_checkpoint(saved, path)

    assert_mmengine_checkpoint_equal(load_checkpoint_file(path), saved)


def test_mmengine_checkpoint_loader_uses_the_safe_local_loader(tmp_path):
    saved = mmengine_style_checkpoint()
    path = str(tmp_path / 'epoch_3.pth')
    save_checkpoint(saved, path)

    loader = CheckpointLoader._get_checkpoint_loader(path)
    assert loader is safe.load_from_local
    loaded = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert_mmengine_checkpoint_equal(loaded, saved)


def test_loads_are_logged_with_the_backend_name(tmp_path, hub_dir, caplog):
    # mmengine names the backend by the loader function's name less its
    # first ten characters ('l' for a loader named _load_local).
    path = str(tmp_path / 'epoch_3.pth')
    save_checkpoint(mmengine_style_checkpoint(), path)
    served, calls, cache = hub_dir
    served[URL] = path
    logger = logging.getLogger('razor_wrn.test_backend_name')

    with caplog.at_level(logging.INFO, logger=logger.name):
        CheckpointLoader.load_checkpoint(path, logger=logger)
        CheckpointLoader.load_checkpoint(URL, logger=logger)
    assert [r.getMessage() for r in caplog.records] == [
        f'Loads checkpoint by local backend from path: {path}',
        f'Loads checkpoint by http backend from path: {URL}',
    ]


def test_user_path_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    torch.save({'w': torch.arange(3)}, tmp_path / 'home.pth')

    loaded = load_checkpoint_file('~/home.pth')
    assert torch.equal(loaded['w'], torch.arange(3))


# ------------------------------------------------------------ refusals
def test_pickled_shell_command_is_refused_and_not_run(tmp_path):
    marker = tmp_path / 'MARKER'
    path = save_payload(tmp_path / 'evil.pth', marker)

    with pytest.raises(CheckpointError) as error:
        load_checkpoint_file(str(path))
    message = str(error.value)
    assert message.startswith(
        f'Refusing to load {str(path)!r}: it contains Python objects that '
        'are not plain data, and razor_wrn never runs code from a '
        'checkpoint (')
    assert message.endswith(
        "If you trust the file, re-save only its weights, e.g. "
        "torch.save({'state_dict': ckpt['state_dict']}, 'clean.pth').")
    assert not marker.exists()


def test_mmengine_checkpoint_loader_refuses_the_shell_command(tmp_path):
    marker = tmp_path / 'MARKER'
    path = save_payload(tmp_path / 'evil.pth', marker)

    with pytest.raises(CheckpointError, match='^Refusing to load'):
        CheckpointLoader.load_checkpoint(str(path))
    with pytest.raises(CheckpointError, match='^Refusing to load'):
        mmengine_checkpoint.load_checkpoint(nn.Linear(1, 1), str(path))
    assert not marker.exists()


GETATTR_PAYLOADS = {
    'HistoryBuffer.__init__': (
        GetAttr(HistoryBuffer, '__init__'),
        f"getattr({HistoryBuffer!r}, '__init__') is not allowed"),
    'HistoryBuffer.__class__': (
        GetAttr(HistoryBuffer, '__class__'),
        f"getattr({HistoryBuffer!r}, '__class__') is not allowed"),
    # The first step is a permitted statistics lookup; walking on from the
    # function it returns to its module globals is not.
    'HistoryBuffer.mean.__globals__': (
        GetAttr(GetAttr(HistoryBuffer, 'mean'), '__globals__'),
        "getattr(<function HistoryBuffer.mean at 0x"),
    # A statistics name, but not looked up on HistoryBuffer.
    'ndarray.max': (
        GetAttr(np.ndarray, 'max'),
        "getattr(<class 'numpy.ndarray'>, 'max') is not allowed"),
    'OrderedDict.__init__': (
        GetAttr(OrderedDict, '__init__'),
        "getattr(<class 'collections.OrderedDict'>, '__init__') is not "
        'allowed'),
}


@pytest.mark.parametrize('payload', [
    payload for payload, _ in GETATTR_PAYLOADS.values()
], ids=list(GETATTR_PAYLOADS))
def test_getattr_reaches_only_history_buffer_statistics(tmp_path, payload):
    path = tmp_path / 'getattr.pth'
    torch.save({'state_dict': {'w': torch.ones(1)}, 'meta': payload}, path)

    with pytest.raises(CheckpointError) as error:
        load_checkpoint_file(str(path))
    assert str(error.value).startswith(
        f'Refusing to load {str(path)!r}: it contains Python objects that '
        'are not plain data')


@pytest.mark.parametrize('payload, refused', [
    (RunsShellCommand('true'),
     'unsupported GLOBAL posix.system whose module posix is blocked'),
    GETATTR_PAYLOADS['HistoryBuffer.__init__'],
], ids=['os.system', 'getattr'])
def test_refusal_names_the_refused_global(tmp_path, payload, refused):
    path = tmp_path / 'refused.pth'
    torch.save({'meta': payload}, path)

    with pytest.raises(CheckpointError) as error:
        load_checkpoint_file(str(path))
    assert refused in str(error.value)
    assert 'weights_only` set to `False`' not in str(error.value)


@pytest.mark.parametrize('name', ['min', 'max', 'mean', 'current'])
def test_getattr_serves_history_buffer_statistics(tmp_path, name):
    path = tmp_path / 'stat.pth'
    torch.save({'method': GetAttr(HistoryBuffer, name)}, path)

    assert load_checkpoint_file(str(path)) == {
        'method': getattr(HistoryBuffer, name)
    }


# ------------------------------------------------ unreadable files
def test_missing_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint_file('work_dirs/nope.pth')
    assert str(error.value) == (
        "Checkpoint file not found: 'work_dirs/nope.pth'. Check the path "
        f'(relative paths are resolved from {str(tmp_path)!r}).')


def test_directory_names_the_checkpoint_likely_meant(tmp_path):
    folder = tmp_path / 'work_dir'
    folder.mkdir()

    def message() -> str:
        with pytest.raises(CheckpointError) as error:
            load_checkpoint_file(str(folder))
        return str(error.value)

    assert message() == (
        f'{str(folder)!r} is a directory, not a checkpoint file, and holds '
        'no checkpoint (*.pth). Pass the path of a checkpoint file.')
    # Written within one tick of the file system's clock: the same time,
    # and the numbers in the names order them.
    for name in ('epoch_9.pth', 'epoch_10.pth', 'best_epoch_3.pth'):
        (folder / name).write_bytes(b'')
        os.utime(folder / name, ns=(1_700_000_000_000_000_000, ) * 2)
    assert message() == (
        f'{str(folder)!r} is a directory, not a checkpoint file. Pass a '
        f"checkpoint file in it, probably {str(folder / 'epoch_10.pth')!r} "
        '(its newest).')
    # The pointer of a work dir copied from elsewhere: the copy in it.
    (folder / 'last_checkpoint').write_text('/elsewhere/run/epoch_9.pth')
    assert message() == (
        f'{str(folder)!r} is a directory, not a checkpoint file. Pass a '
        f"checkpoint file in it, probably {str(folder / 'epoch_9.pth')!r} "
        '(the one its last_checkpoint names).')


def test_teacher_directory_names_the_checkpoint_likely_meant(tmp_path):
    folder = tmp_path / 'teacher run'
    folder.mkdir()
    with pytest.raises(CheckpointError) as error:
        safe.check_teacher_ckpt(str(folder))
    assert str(error.value) == (
        f'Teacher checkpoint {str(folder)!r} (model.teacher_ckpt) is a '
        'directory, not a checkpoint file, and holds no checkpoint (*.pth). '
        'Pass one with --cfg-options model.teacher_ckpt=PATH, or train the '
        'teacher first with its vanilla config.')
    (folder / 'epoch_1.pth').write_bytes(b'')
    (folder / 'last_checkpoint').write_text(str(folder / 'epoch_1.pth'))
    with pytest.raises(CheckpointError) as error:
        safe.check_teacher_ckpt(str(folder))
    # Quoted for the shell: the folder's name has a space.
    assert str(error.value) == (
        f'Teacher checkpoint {str(folder)!r} (model.teacher_ckpt) is a '
        'directory, not a checkpoint file. Pass a checkpoint file in it, '
        'probably --cfg-options '
        f"model.teacher_ckpt='{folder / 'epoch_1.pth'}' (the one its "
        'last_checkpoint names).')


NOT_A_CHECKPOINT = 'Pass a checkpoint written by tools/train.py or torch.save.'
SAVE_AGAIN = 'Save or download it again, or pass another checkpoint.'


def unreadable_message(path: Path) -> str:
    with pytest.raises(CheckpointError) as error:
        load_checkpoint_file(str(path))
    return str(error.value)


def test_truncated_checkpoint(tmp_path):
    whole = tmp_path / 'whole.pth'
    torch.save({'state_dict': wrn(10).state_dict()}, whole)
    data = whole.read_bytes()
    truncated = tmp_path / 'truncated.pth'
    # Cut anywhere, a zip archive loses the index at its end (torch then
    # fails in its zip reader, 'an internal miniz error', or in a read).
    for size in (100, 20000, len(data) // 2, len(data) - 10):
        truncated.write_bytes(data[:size])
        assert unreadable_message(truncated) == (
            f'{str(truncated)!r} is a truncated or damaged PyTorch checkpoint '
            f'(the end of the file is missing). {SAVE_AGAIN}')


def test_truncated_legacy_checkpoint(tmp_path):
    whole = tmp_path / 'whole.pth'
    torch.save({'w': torch.ones(100)}, whole,
               _use_new_zipfile_serialization=False)
    data = whole.read_bytes()
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(data[:len(data) - 10])
    assert unreadable_message(truncated) == (
        f'{str(truncated)!r} is a truncated or damaged PyTorch checkpoint '
        f'(unexpected EOF, expected 10 more bytes). {SAVE_AGAIN}')
    truncated.write_bytes(data[:40])
    assert unreadable_message(truncated) == (
        f'{str(truncated)!r} is a truncated or damaged PyTorch checkpoint '
        f'(the file ends early). {SAVE_AGAIN}')


OTHER_BYTES = ('not a PyTorch checkpoint (its first bytes are not those '
               'torch.save writes)')


@pytest.mark.parametrize('content,what,fix', [
    (np.random.default_rng(0).bytes(4096), OTHER_BYTES, NOT_A_CHECKPOINT),
    (b'', 'empty (0 bytes), not a PyTorch checkpoint', SAVE_AGAIN),
    (b'\0' * 64, OTHER_BYTES, NOT_A_CHECKPOINT),
    (b"model = dict(type='ImageClassifier')\n",
     'a text file, not a PyTorch checkpoint (its first line is '
     '"model = dict(type=\'ImageClassifier\')")', NOT_A_CHECKPOINT),
    (b'{"state_dict": {}}\n', 'a text file, not a PyTorch checkpoint (its '
     'first line is \'{"state_dict": {}}\')', NOT_A_CHECKPOINT),
    (b'<html><body>404 Not Found</body></html>\n', 'a text file, not a '
     'PyTorch checkpoint (its first line is \'<html><body>404 Not '
     'Found</body></html>\')', NOT_A_CHECKPOINT),
    # A text file beginning with 'h' (pickle's BINGET): the weights-only
    # unpickler raises KeyError, 'KeyError: 101' once in this message.
    (b'hello, this is not a checkpoint\n', 'a text file, not a PyTorch '
     "checkpoint (its first line is 'hello, this is not a checkpoint')",
     NOT_A_CHECKPOINT),
    # A Git LFS pointer checked out instead of its file: shortened.
    (b'version https://git-lfs.github.com/spec/v1\noid sha256:0123\n',
     'a text file, not a PyTorch checkpoint (its first line is '
     "'version https://git-lfs.github.com/spec/...')", NOT_A_CHECKPOINT),
    # Bytes starting with 'u' (SETITEMS on an empty stack): IndexError.
    (b'u' + np.random.default_rng(0).bytes(64), OTHER_BYTES,
     NOT_A_CHECKPOINT),
    # A plain pickle, not written by torch.save.
    (b'\x80\x02}q\x00.', OTHER_BYTES, NOT_A_CHECKPOINT),
],
                         ids=['random', 'empty', 'zeros', 'python', 'json',
                              'html', 'text-h', 'lfs', 'bytes-u', 'pickle'])
def test_non_checkpoint_file(tmp_path, content, what, fix):
    path = tmp_path / 'not_a_checkpoint.pth'
    path.write_bytes(content)

    assert unreadable_message(path) == f'{str(path)!r} is {what}. {fix}'


def test_unreadable_checkpoint_error_pickles_whole():
    error = safe.UnreadableCheckpointError("'a.pth' is empty", 'Fix it.')
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.problem, copy.fix) == (
        "'a.pth' is empty. Fix it.", "'a.pth' is empty", 'Fix it.')


# ------------------------------------------------------- state_dict_of
def test_state_dict_of_unwraps_the_state_dict_entry():
    weights = OrderedDict(w=torch.ones(2), b=torch.zeros(1))
    assert state_dict_of({'meta': {'epoch': 1}, 'state_dict': weights},
                         'ckpt.pth') is weights


def test_state_dict_of_accepts_a_bare_state_dict():
    weights = OrderedDict(w=torch.ones(2), b=torch.zeros(1))
    assert state_dict_of(weights, 'ckpt.pth') is weights


@pytest.mark.parametrize('checkpoint', [
    [torch.ones(1)],
    torch.ones(1),
    None,
    {'meta': {'epoch': 1}},
    {'state_dict': [torch.ones(1)]},
    {'state_dict': {'w': torch.ones(1), 'step': 3}},
    {'w': torch.ones(1), 'step': 3},
],
                         ids=['list', 'tensor', 'none', 'meta-only',
                              'state_dict-list', 'state_dict-non-tensor',
                              'bare-non-tensor'])
def test_state_dict_of_rejects_other_objects(checkpoint):
    with pytest.raises(CheckpointError) as error:
        state_dict_of(checkpoint, 'ckpt.pth')
    assert str(error.value) == (
        "'ckpt.pth' holds no state dict: expected a dict of tensors or a "
        "dict with a 'state_dict' entry.")


# ------------------------------------------------ load_weights_strictly
class TwoLayers(nn.Module):

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.head = nn.Linear(2, 1)


def test_load_weights_strictly_loads_matching_weights():
    source, model = wrn(10), WideResNet(depth=10, widen_factor=1)
    weights = source.state_dict()

    assert load_weights_strictly(model, weights, 'wrn.pth') is None
    loaded = model.state_dict()
    assert loaded.keys() == weights.keys()
    assert all(torch.equal(loaded[k], v) for k, v in weights.items())
    assert not torch.equal(weights['conv1.weight'],
                           WideResNet(depth=10).state_dict()['conv1.weight'])


def test_load_weights_strictly_lists_every_kind_of_mismatch():
    model = TwoLayers()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    weights = {
        'fc.weight': torch.zeros(3, 4),
        'fc.bias': torch.zeros(2),
        'head.weight': torch.zeros(1, 2),
        'extra.weight': torch.zeros(1),
    }

    with pytest.raises(CheckpointError) as error:
        load_weights_strictly(model, weights, 'two.pth')
    assert str(error.value) == (
        "Checkpoint 'two.pth' does not fit the model:\n"
        '  missing keys (1):\n'
        '    head.bias\n'
        '  unexpected keys (1):\n'
        '    extra.weight\n'
        '  shape mismatches (1):\n'
        '    fc.weight: checkpoint (3, 4) vs model (2, 4)')
    # Nothing was loaded: not even the keys that fit.
    assert all(torch.equal(model.state_dict()[k], v)
               for k, v in before.items())


def test_load_weights_strictly_names_the_wrn_depth_of_both():
    model = WideResNet(depth=16, widen_factor=1)
    weights = wrn(10).state_dict()  # WRN-10-1: one block per stage

    with pytest.raises(CheckpointError) as error:
        load_weights_strictly(model, weights, 'wrn10-1.pth')
    # 3 stages x one missing block of bn1 (5 entries), conv1, bn2 (5), conv2.
    assert str(error.value) == (
        "Checkpoint 'wrn10-1.pth' does not fit the model:\n"
        '  missing keys (36):\n'
        '    layer1.1.bn1.weight\n'
        '    layer1.1.bn1.bias\n'
        '    layer1.1.bn1.running_mean\n'
        '    layer1.1.bn1.running_var\n'
        '    layer1.1.bn1.num_batches_tracked\n'
        '    layer1.1.conv1.weight\n'
        '    layer1.1.bn2.weight\n'
        '    layer1.1.bn2.bias\n'
        '    ... and 28 more\n'
        '  Likely cause: the checkpoint holds a WRN-10-1, the config builds '
        'a WRN-16-1: use the config that matches the checkpoint.')


def test_load_weights_strictly_names_the_wrn_width_of_both():
    model = WideResNet(depth=10, widen_factor=1)
    weights = wrn(10, width=2).state_dict()

    with pytest.raises(CheckpointError) as error:
        load_weights_strictly(model, weights, 'wrn10-2.pth')
    message = str(error.value)
    # Stage 1 of WRN-10-2 widens 16 -> 32 channels, so it has a shortcut
    # conv that WRN-10-1 lacks.
    assert '  unexpected keys (1):\n    layer1.0.downsample.weight\n' in (
        message)
    assert ('    layer1.0.conv1.weight: checkpoint (32, 16, 3, 3) vs model '
            '(16, 16, 3, 3)\n') in message
    assert 'missing keys' not in message
    assert message.endswith(
        '  Likely cause: the checkpoint holds a WRN-10-2, the config builds '
        'a WRN-10-1: use the config that matches the checkpoint.')


def test_load_weights_strictly_recognises_a_distillation_checkpoint():
    model = WideResNet(depth=10, widen_factor=1)
    student = wrn(10).state_dict()
    weights = {f'architecture.{k}': v for k, v in student.items()}
    weights.update({f'teacher.{k}': v for k, v in student.items()})

    with pytest.raises(CheckpointError) as error:
        load_weights_strictly(model, weights, 'kd.pth')
    message = str(error.value)
    count = len(student)
    assert f'  missing keys ({count}):\n    conv1.weight\n' in message
    assert (f'  unexpected keys ({2 * count}):\n'
            '    architecture.conv1.weight\n') in message
    assert message.endswith(
        '  Likely cause: this is a distillation checkpoint: test it with its '
        'KD config, or extract the student with '
        'tools/model_converters/convert_kd_ckpt_to_student.py.')
    # The same WRN on both sides: no architecture hint.
    assert 'WRN-' not in message


def test_a_distillation_checkpoint_of_another_teacher_names_its_options():
    model = torch.nn.Module()
    model.architecture = WideResNet(depth=10, widen_factor=1)
    model.teacher = WideResNet(depth=16, widen_factor=1)
    weights = {f'architecture.{k}': v
               for k, v in wrn(10).state_dict().items()}
    weights.update({f'teacher.{k}': v
                    for k, v in wrn(10, width=2).state_dict().items()})

    with pytest.raises(CheckpointError) as error:
        load_weights_strictly(model, weights, 'kd.pth')
    assert str(error.value).endswith(
        "  Likely cause: the checkpoint's teacher is a WRN-10-2, the config "
        'builds a WRN-16-1: pass --cfg-options model.teacher.backbone.'
        'depth=10 model.teacher.backbone.widen_factor=2.')


def test_a_classifier_checkpoint_for_a_distillation_says_what_it_is():
    model = torch.nn.Module()
    model.architecture = WideResNet(depth=10, widen_factor=1)
    model.teacher = WideResNet(depth=10, widen_factor=1)
    with pytest.raises(CheckpointError) as error:
        load_weights_strictly(model, wrn(10).state_dict(), 'plain.pth')
    assert str(error.value).endswith(
        "  Likely cause: this is a plain classifier's checkpoint, not a "
        "distillation's: test it with the vanilla config of its network, or "
        'start the student of a distillation from it with --cfg-options '
        'load_from=PATH.')


def test_a_teacher_checkpoint_of_another_wrn_names_the_teachers_options():
    with pytest.raises(CheckpointError) as error:
        load_weights_strictly(WideResNet(depth=16, widen_factor=2),
                              wrn(10).state_dict(), 't.pth',
                              'model.teacher_ckpt')
    assert str(error.value).endswith(
        "  Likely cause: the checkpoint's network is a WRN-10-1, the config "
        'builds a WRN-16-2: pass --cfg-options model.teacher.backbone.'
        'depth=10 model.teacher.backbone.widen_factor=1.')


# --------------------------------------------------------------- http(s)
@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    """torch.hub's cache in ``tmp_path``; downloads copy ``served`` files."""
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    served, calls = {}, []

    def fake_download(url, dst, *args, **kwargs):
        calls.append((url, dst))
        if url not in served:
            raise OSError(f'HTTP Error 404: Not Found ({url})')
        shutil.copyfile(served[url], dst)

    monkeypatch.setattr(torch.hub, 'download_url_to_file', fake_download)
    return served, calls, Path(safe.cache_path(URL))


def test_http_checkpoint_is_downloaded_once_and_loaded_safely(
        tmp_path, hub_dir):
    served, calls, cache = hub_dir
    saved = mmengine_style_checkpoint()
    save_checkpoint(saved, str(tmp_path / 'remote.pth'))
    served[URL] = tmp_path / 'remote.pth'

    assert CheckpointLoader._get_checkpoint_loader(URL) is safe.load_from_http
    assert_mmengine_checkpoint_equal(
        CheckpointLoader.load_checkpoint(URL, map_location='cpu'), saved)
    # Into a temporary file of this process, renamed when complete.
    (url, partial), = calls
    assert url == URL and partial.startswith(f'{cache}.')
    assert partial.endswith('.partial') and not os.path.exists(partial)
    assert cache.parent.parent == tmp_path / 'hub' / 'checkpoints'
    assert cache.name == 'wrn.pth'
    # The second load reads the cached file.
    assert_mmengine_checkpoint_equal(load_checkpoint_file(URL), saved)
    assert len(calls) == 1


def test_http_checkpoint_with_code_is_refused_and_not_run(tmp_path, hub_dir):
    served, calls, cache = hub_dir
    marker = tmp_path / 'MARKER'
    served[URL] = save_payload(tmp_path / 'evil.pth', marker)

    with pytest.raises(CheckpointError) as error:
        CheckpointLoader.load_checkpoint(URL)
    assert str(error.value).startswith(
        f'Refusing to load {str(cache)!r}')
    assert not marker.exists()


def test_http_download_failure(hub_dir):
    served, calls, cache = hub_dir

    with pytest.raises(CheckpointError) as error:
        CheckpointLoader.load_checkpoint(URL)
    assert str(error.value) == (
        f'Could not download checkpoint {URL}: HTTP Error 404: Not Found '
        f'({URL}). Check the URL and your network, or download the file '
        'yourself and pass its local path instead.')
    assert isinstance(error.value.__cause__, OSError)
    assert not cache.exists()


def test_model_zoo_scheme_goes_through_the_safe_loader(
        tmp_path, hub_dir, monkeypatch):
    served, calls, cache = hub_dir
    marker = tmp_path / 'MARKER'
    served[URL] = save_payload(tmp_path / 'evil.pth', marker)
    monkeypatch.setattr(mmengine_checkpoint, 'get_torchvision_models',
                        lambda: {'wrn': URL})

    try:
        with pytest.raises(CheckpointError, match='^Refusing to load'):
            CheckpointLoader.load_checkpoint('torchvision://wrn')
    finally:
        assert not marker.exists()


def test_same_file_name_at_two_urls_gives_two_checkpoints(tmp_path, hub_dir):
    served, calls, cache = hub_dir
    run_a = 'http://host/runA/teacher.pth'
    run_b = 'http://host/runB/teacher.pth'
    for url, value in ((run_a, 1.0), (run_b, 2.0)):
        served[url] = tmp_path / f'{value}.pth'
        torch.save({'w': torch.tensor(value)}, served[url])

    assert load_checkpoint_file(run_a)['w'] == 1.0
    assert load_checkpoint_file(run_b)['w'] == 2.0
    assert load_checkpoint_file(run_a)['w'] == 1.0
    assert [url for url, _ in calls] == [run_a, run_b]
    assert safe.cache_path(run_a) != safe.cache_path(run_b)


def test_hash_in_the_url_file_name_is_checked(tmp_path, hub_dir):
    served, calls, cache = hub_dir
    weights = tmp_path / 'weights.pth'
    torch.save({'w': torch.ones(1)}, weights)
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    good = f'https://host/wrn_20221201-{digest[:8]}.pth'
    bad = 'https://host/wrn_20221201-00000000.pth'
    served[good] = served[bad] = weights

    assert load_checkpoint_file(good)['w'] == 1.0
    with pytest.raises(CheckpointError) as error:
        load_checkpoint_file(bad)
    assert str(error.value) == (
        f'The file downloaded from {bad} has sha256 {digest[:16]}..., but '
        'its name says it starts with 00000000: the download is corrupt or '
        'the URL is wrong. Try again, or check the URL.')
    # Nothing but the cache's lock file is left.
    assert os.listdir(os.path.dirname(safe.cache_path(bad))) == [
        'wrn_20221201-00000000.pth.lock']
    # Names with a short number after a dash are no hash.
    served['https://host/wrn-40.pth'] = weights
    assert load_checkpoint_file('https://host/wrn-40.pth')['w'] == 1.0


def test_load_weights_strictly_names_the_class_counts_and_the_role():
    class Classifier(nn.Module):

        def __init__(self, classes: int) -> None:
            super().__init__()
            self.head = nn.Module()
            self.head.fc = nn.Linear(8, classes)

    with pytest.raises(CheckpointError) as error:
        load_weights_strictly(Classifier(100), Classifier(10).state_dict(),
                              'c10.pth', 'model.teacher_ckpt')
    message = str(error.value)
    assert message.startswith(
        "Checkpoint 'c10.pth' (model.teacher_ckpt) does not fit the model:")
    assert message.endswith(
        '  Likely cause: the checkpoint classifies 10 classes, the config '
        "100: use one trained on the config's data set (e.g. a CIFAR-100 "
        'one for a _cifar100 config).')


def test_a_corrupt_cached_file_is_downloaded_again(tmp_path, hub_dir):
    served, calls, cache = hub_dir
    weights = tmp_path / 'weights.pth'
    torch.save({'w': torch.ones(1)}, weights)
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    url = f'https://host/wrn_20221201-{digest[:8]}.pth'
    served[url] = weights
    cached = Path(safe.cache_path(url))
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b'half a file')

    assert load_checkpoint_file(url)['w'] == 1.0
    assert len(calls) == 1 and cached.read_bytes() == weights.read_bytes()
    # A good cached file is used as it is.
    assert load_checkpoint_file(url)['w'] == 1.0
    assert len(calls) == 1


class SlowCheckpointServer:
    """An HTTP server, in a thread of this process, that serves one file in
    small pieces over about half a second and counts the GET requests."""

    def __init__(self, path: Path) -> None:
        import http.server
        import threading
        data, self.gets = path.read_bytes(), []

        class Handler(http.server.BaseHTTPRequestHandler):

            def do_GET(handler):  # noqa: N805  (the server's handler)
                self.gets.append(handler.path)
                handler.send_response(200)
                handler.send_header('Content-Length', str(len(data)))
                handler.end_headers()
                step = len(data) // 10 + 1
                for start in range(0, len(data), step):
                    handler.wfile.write(data[start:start + step])
                    handler.wfile.flush()
                    time.sleep(0.05)

            def log_message(handler, *args):  # noqa: N805
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      Handler)
        self.url = (f'http://127.0.0.1:{self.server.server_port}/'
                    f'{path.stem}-{hashlib.sha256(data).hexdigest()[:8]}.pth')
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _load_and_report(url: str) -> None:
    """Child of the race test: load ``url`` and print the loaded value."""
    print('loaded', float(load_checkpoint_file(url)['w']))


def test_two_processes_fetching_one_url_download_it_once(tmp_path):
    # Two ranks of one machine load the same teacher URL at the same time,
    # into one torch hub cache: one download, both load the checked file.
    weights = tmp_path / 'teacher.pth'
    torch.save({'w': torch.tensor(3.0), 'pad': torch.zeros(20000)}, weights)
    server = SlowCheckpointServer(weights)
    try:
        env = {'TORCH_HOME': str(tmp_path / 'torch')}
        ranks = [Forked(_load_and_report, server.url, env=env)
                 for _ in range(2)]
        results = [rank.wait(timeout=60) for rank in ranks]
    finally:
        server.close()
    for code, output in results:
        assert code == 0, output
        assert output.splitlines()[-1] == 'loaded 3.0', output
    assert len(server.gets) == 1
    cached = Path(tmp_path / 'torch' / 'hub' / 'checkpoints').glob('*/*')
    assert sorted(path.suffix for path in cached) == ['.lock', '.pth']


@pytest.mark.parametrize('umask, mode', [(0o022, 0o644), (0o077, 0o600)])
def test_a_downloaded_file_honours_the_umask(tmp_path, monkeypatch, umask,
                                             mode):
    # A shared cache is readable by the teammates the umask allows (the
    # download's temporary file is not mkstemp's 0600).
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    weights = tmp_path / 'teacher.pth'
    torch.save({'w': torch.ones(1)}, weights)
    server = SlowCheckpointServer(weights)
    old = os.umask(umask)
    try:
        load_checkpoint_file(server.url)
    finally:
        os.umask(old)
        server.close()
    assert Path(safe.cache_path(server.url)).stat().st_mode & 0o777 == mode


def test_a_read_only_cache_is_read_and_an_unwritable_one_named(
        tmp_path, hub_dir, monkeypatch):
    # A shared cache this user cannot write to (tests run as root, so the
    # refusals are simulated where the file system would raise them).
    from razor_wrn.checkpoint import download
    served, calls, cache = hub_dir
    served[URL] = tmp_path / 'remote.pth'
    torch.save({'w': torch.ones(1)}, served[URL])
    load_checkpoint_file(URL)
    (cache.parent / 'wrn.pth.lock').unlink()
    real_open = open

    def read_only(path, mode='r', *args, **kwargs):
        if 'r' not in mode and str(path).startswith(str(tmp_path / 'hub')):
            raise PermissionError(13, 'Permission denied', str(path))
        return real_open(path, mode, *args, **kwargs)

    def no_temporary_file(*args, **kwargs):
        raise PermissionError(13, 'Permission denied')

    monkeypatch.setattr('builtins.open', read_only)
    monkeypatch.setattr(download.tempfile, 'mkstemp', no_temporary_file)
    assert load_checkpoint_file(URL)['w'] == 1.0
    assert len(calls) == 1
    cache.unlink()
    with pytest.raises(CheckpointError) as error:
        load_checkpoint_file(URL)
    assert str(error.value) == (
        f'Cannot download {URL} into the torch hub cache {cache.parent} '
        '(Permission denied): set TORCH_HOME to a folder you can write to, '
        'or download the file yourself and pass its local path instead.')


def test_teacher_ckpt_is_checked_only_when_it_cannot_be_read(tmp_path,
                                                             monkeypatch):
    from razor_wrn.checkpoint import teacher as module
    teacher = torch.nn.Linear(2, 2)
    saved = tmp_path / 'teacher.pth'
    torch.save({'state_dict': teacher.state_dict()}, saved)
    checks = []
    check = module.check_teacher_ckpt
    monkeypatch.setattr(module, 'check_teacher_ckpt',
                        lambda path: checks.append(path) or check(path))
    # tools/train.py has checked it: loading does not check again.
    module.load_teacher_ckpt(torch.nn.Linear(2, 2), str(saved))
    assert checks == []
    # A missing file is reported with how to get a teacher.
    with pytest.raises(CheckpointError, match='Teacher checkpoint not found'):
        module.load_teacher_ckpt(teacher, str(tmp_path / 'missing.pth'))
    # A file that is there but unreadable keeps the reader's error.
    (tmp_path / 'broken.pth').write_bytes(b'not a checkpoint')
    with pytest.raises(CheckpointError) as error:
        module.load_teacher_ckpt(teacher, str(tmp_path / 'broken.pth'))
    assert str(error.value) == (
        f"{str(tmp_path / 'broken.pth')!r} is a text file, not a PyTorch "
        "checkpoint (its first line is 'not a checkpoint'). Pass a "
        'checkpoint written by tools/train.py or torch.save.')
    assert len(checks) == 2
