"""tools/model_converters/publish_model.py: weights and meta only, the model
zoo's name with the date and sha256 prefix, and half-size files whose
weights autocast sees unchanged."""
import datetime
import os
import re

import pytest
import torch
from mmpretrain.models import ImageClassifier

import razor_wrn  # noqa: F401
from conftest import load_tool, run_tool
from razor_wrn.checkpoint import (HASH_SUFFIX, file_sha256,
                                  load_weights_strictly)

PUBLISH = load_tool('model_converters/publish_model.py')


def _wrn_10_1() -> ImageClassifier:
    torch.manual_seed(0)
    model = ImageClassifier(
        backbone=dict(type='WideResNet', depth=10, widen_factor=1),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=64))
    model.train()(torch.randn(8, 3, 8, 8))  # BN statistics not at init
    return model.eval()


def _training_checkpoint(model: torch.nn.Module, path) -> None:
    """What mmengine's CheckpointHook saves, in small."""
    torch.save({
        'meta': {'epoch': 200, 'seed': 0, 'cfg': 'config text'},
        'state_dict': model.state_dict(),
        'optimizer': {'state': {0: {'momentum_buffer': torch.ones(3)}},
                      'param_groups': [{'lr': 0.1}]},
        'message_hub': {'log_scalars': {}},
        'param_schedulers': [{'last_epoch': 200}],
    }, path)


def _publish(argv, capsys):
    code, (out, err) = run_tool(PUBLISH, argv, capsys)
    assert code == 0, err
    path = re.search(r'Published (\S+) ', out).group(1)
    return path, re.search(r'sha256 ([0-9a-f]{64})', out).group(1)


def test_weights_and_meta_under_the_model_zoo_name(tmp_path, capsys):
    model = _wrn_10_1()
    _training_checkpoint(model, tmp_path / 'epoch_200.pth')
    path, sha256 = _publish([str(tmp_path / 'epoch_200.pth'),
                             str(tmp_path / 'zoo' / 'wrn10-1.pth')], capsys)
    today = datetime.date.today().strftime('%Y%m%d')
    assert path == str(tmp_path / 'zoo' / f'wrn10-1_{today}-{sha256[:8]}.pth')
    # The printed hash is the file's, and the loader's check accepts it.
    assert file_sha256(path) == sha256
    assert sha256.startswith(HASH_SUFFIX.search(path).group(1))
    published = torch.load(path, weights_only=True)
    assert list(published) == ['meta', 'state_dict']
    assert published['meta'] == {
        'epoch': 200, 'seed': 0, 'cfg': 'config text',
        'published_from': 'epoch_200.pth', 'weights_dtype': 'float32'}
    expected = model.state_dict()
    assert list(published['state_dict']) == list(expected)
    for key, value in expected.items():
        assert published['state_dict'][key].dtype == value.dtype, key
        assert torch.equal(published['state_dict'][key], value), key
    # The same checkpoint published again is the same file.
    assert _publish([str(tmp_path / 'epoch_200.pth'),
                     str(tmp_path / 'zoo' / 'wrn10-1')], capsys) == (
                         path, sha256)


def test_bfloat16_weights_give_the_same_outputs_under_autocast(
        tmp_path, capsys):
    model = _wrn_10_1()
    _training_checkpoint(model, tmp_path / 'epoch_200.pth')
    full, _ = _publish([str(tmp_path / 'epoch_200.pth'),
                        str(tmp_path / 'full')], capsys)
    half, _ = _publish([str(tmp_path / 'epoch_200.pth'),
                        str(tmp_path / 'half'), '--weights-dtype',
                        'bfloat16'], capsys)
    weights = torch.load(half, weights_only=True)['state_dict']
    # Convolution and linear weights halved; BN, biases and counters not.
    assert {key for key, value in weights.items()
            if value.dtype == torch.bfloat16} == {
                key for key, value in model.state_dict().items()
                if value.dim() >= 2}
    assert weights['backbone.bn1.running_var'].dtype == torch.float32
    assert weights['head.fc.bias'].dtype == torch.float32
    assert weights['backbone.bn1.num_batches_tracked'].dtype == torch.int64
    assert os.path.getsize(half) < 0.55 * os.path.getsize(full)
    # Loaded into a float32 model as a teacher is.
    rounded = _wrn_10_1()
    load_weights_strictly(rounded, weights, half, 'model.teacher_ckpt')
    images = torch.randn(4, 3, 8, 8)
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        assert torch.equal(rounded(images), model(images))
    with torch.no_grad():
        assert not torch.equal(rounded(images), model(images))


def test_errors_name_the_problem(tmp_path, capsys):
    code, (_, err) = run_tool(
        PUBLISH, [str(tmp_path / 'missing.pth'), str(tmp_path / 'x')],
        capsys)
    assert code == 1 and 'Checkpoint file not found' in err
    torch.save({'state_dict': {'w': torch.ones(2, 2)}}, tmp_path / 'w.pth')
    (tmp_path / 'file').write_text('')
    code, (_, err) = run_tool(
        PUBLISH, [str(tmp_path / 'w.pth'), str(tmp_path / 'file' / 'x')],
        capsys)
    assert code == 1 and 'Nothing was written' in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['file', 'w.pth']
    with pytest.raises(SystemExit) as exit_:
        PUBLISH.main([str(tmp_path / 'w.pth'), 'x', '--weights-dtype',
                      'int8'])
    assert exit_.value.code == 2
    assert "invalid choice: 'int8'" in capsys.readouterr().err
