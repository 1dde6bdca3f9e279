"""train -> resume -> test through the tools, and their errors."""
import hashlib
import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner, save_checkpoint

from conftest import run_tool

VANILLA = 'configs/vanilla/wrn16-w2_b128x1_cifar10.py'
# WRN-10-1 keeps the tests to seconds; the configs are otherwise unchanged.
TINY_WRN = ['model.backbone.depth=10', 'model.backbone.widen_factor=1']



def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope='module')
def trained(tmp_path_factory, make_tiny_cifar10, data_options, tools):
    """One epoch of WRN-10-1 on 20 images (2 iterations), then a resume to
    epoch 2."""
    data = make_tiny_cifar10(per_class_train=2, per_class_test=1)
    work_dir = tmp_path_factory.mktemp('vanilla')
    options = data_options(data, 10) + TINY_WRN
    tools['train'].main([VANILLA, '--work-dir', str(work_dir),
                         '--cfg-options', 'train_cfg.max_epochs=1',
                         *options])
    first = _sha(work_dir / 'epoch_1.pth')
    tools['train'].main([VANILLA, '--work-dir', str(work_dir), '--resume',
                         '--cfg-options', 'train_cfg.max_epochs=2',
                         *options])
    return dict(work_dir=work_dir, data=data, options=options,
                epoch_1_sha=first)


def test_resume_continues_from_the_latest_checkpoint(trained):
    work_dir = trained['work_dir']
    checkpoint = torch.load(work_dir / 'epoch_2.pth', weights_only=True)
    assert (checkpoint['meta']['epoch'], checkpoint['meta']['iter']) == (2, 4)
    # The two runs may start within the same second (one timestamp folder).
    logs = sorted(work_dir.glob('*/*.log'))
    assert any('resumed epoch: 1, iter: 2' in log.read_text() for log in logs)
    # Resuming never rewrites what was saved before.
    assert _sha(work_dir / 'epoch_1.pth') == trained['epoch_1_sha']


def test_test_tool_writes_the_validated_metrics(trained, tools, tmp_path):
    out = tmp_path / 'metrics.json'
    tools['test'].main([VANILLA, str(trained['work_dir'] / 'epoch_2.pth'),
                        '--work-dir', str(tmp_path), '--out', str(out),
                        '--cfg-options', *trained['options']])
    metrics = json.loads(out.read_text())
    scalars = sorted(trained['work_dir'].glob('*/vis_data/scalars.json'))[-1]
    last_val = [json.loads(line) for line in scalars.read_text().splitlines()
                if 'accuracy/top1' in line][-1]
    assert metrics['accuracy/top1'] == pytest.approx(last_val['accuracy/top1'])
    assert set(metrics) == {'accuracy/top1', 'accuracy/top5'}


def test_test_tool_rejects_a_checkpoint_of_another_depth(
        trained, tools, tmp_path, capsys):
    code, (_, err) = run_tool(tools['test'], [
        VANILLA, str(trained['work_dir'] / 'epoch_2.pth'), '--work-dir',
        str(tmp_path), '--cfg-options', *trained['options'],
        'model.backbone.depth=16'], capsys)
    assert code == 1
    assert 'does not fit the model' in err
    assert 'holds a WRN-10-1, the config builds a WRN-16-1' in err


def test_test_tool_with_a_checkpoint_that_does_not_fit_leaves_no_files(
        trained, tools, tmp_path, capsys):
    checkpoint = str(trained['work_dir'] / 'epoch_2.pth')
    options = ['--cfg-options', *trained['options'], 'model.backbone.depth=16']
    # A new work dir, and the new folder above it, go again.
    code, (_, err) = run_tool(tools['test'], [
        VANILLA, checkpoint, '--work-dir', str(tmp_path / 'new' / 'wd'),
        *options], capsys)
    assert code == 1 and 'does not fit the model' in err
    assert list(tmp_path.iterdir()) == []
    # An existing one keeps what it held (an earlier run's log folder
    # too), and holds nothing else.
    work_dir = tmp_path / 'old'
    (work_dir / '20240101_000000').mkdir(parents=True)
    (work_dir / 'notes.txt').write_text('mine')
    code, (_, err) = run_tool(tools['test'], [
        VANILLA, checkpoint, '--work-dir', str(work_dir), *options], capsys)
    assert code == 1 and 'does not fit the model' in err
    assert sorted(p.name for p in work_dir.iterdir()) == [
        '20240101_000000', 'notes.txt']
    assert list((work_dir / '20240101_000000').iterdir()) == []


def test_test_tool_with_damaged_test_data_leaves_no_files(
        trained, tools, tmp_path, capsys):
    data = tmp_path / 'data' / 'cifar-10-batches-py'
    shutil.copytree(Path(trained['data']) / 'cifar-10-batches-py', data)
    (data / 'test_batch').write_bytes(b'not a pickle')
    work_dir = tmp_path / 'new' / 'wd'
    code, (_, err) = run_tool(tools['test'], [
        VANILLA, str(trained['work_dir'] / 'epoch_2.pth'), '--work-dir',
        str(work_dir), '--cfg-options', *trained['options'],
        f'test_dataloader.dataset.data_root={data.parent}'], capsys)
    assert code == 1 and 'test_batch' in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['data']


@pytest.mark.parametrize('argv,message', [
    (['missing_config.py', 'x.pth'], 'Config file not found'),
    ([VANILLA, 'no_such.pth'], 'Checkpoint file not found'),
])
def test_test_tool_bad_paths(tools, argv, message, capsys):
    code, (_, err) = run_tool(tools['test'], argv, capsys)
    assert code == 1 and message in err


def test_train_tool_bad_resume_path(tools, capsys, tmp_path):
    code, (_, err) = run_tool(tools['train'], [
        VANILLA, '--work-dir', str(tmp_path), '--resume', 'nope.pth'], capsys)
    assert code == 1 and '--resume checkpoint not found' in err


def test_tools_name_the_checkpoint_in_a_directory(trained, tools, tmp_path,
                                                  capsys):
    work_dir = trained['work_dir']
    newest = str(work_dir / 'epoch_2.pth')
    code, (_, err) = run_tool(tools['test'], [
        VANILLA, str(work_dir), '--work-dir', str(tmp_path / 'test'),
        '--cfg-options', *trained['options']], capsys)
    assert (code, err) == (
        1, f'ERROR: {str(work_dir)!r} is a directory, not a checkpoint '
        f'file. Pass a checkpoint file in it, probably {newest!r} (the one '
        'its last_checkpoint names).\n')
    code, (_, err) = run_tool(tools['train'], [
        VANILLA, '--work-dir', str(tmp_path / 'train'), '--resume',
        str(work_dir), '--cfg-options', *trained['options']], capsys)
    assert (code, err) == (
        1, f'ERROR: --resume {str(work_dir)!r} is a directory, not a '
        'checkpoint file. Pass a checkpoint file in it, probably --resume '
        f'{newest} (the one its last_checkpoint names); to continue that '
        f'run in its own work dir, pass --work-dir {work_dir} --resume.\n')
    # A folder without checkpoints (the failed test run above took back the
    # work dir it had created).
    (tmp_path / 'test').mkdir()
    code, (_, err) = run_tool(tools['train'], [
        VANILLA, '--work-dir', str(tmp_path / 'train'), '--resume',
        str(tmp_path / 'test'), '--cfg-options', *trained['options']], capsys)
    assert (code, err) == (
        1, f"ERROR: --resume {str(tmp_path / 'test')!r} is a directory, not "
        'a checkpoint file, and holds no checkpoint (*.pth). Pass --resume '
        'CKPT, or --resume without a value to resume the latest checkpoint '
        'in the work dir.\n')


def test_tools_report_a_truncated_checkpoint_or_a_text_file(
        trained, tools, tmp_path, capsys):
    """One line each: what the file is, its path and the fix; not torch's
    zip reader ('an internal miniz error') or unpickler ('KeyError: 101'),
    and for --resume its own fix after the file's problem."""
    whole = (trained['work_dir'] / 'epoch_2.pth').read_bytes()
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(whole[:len(whole) // 2])
    text = tmp_path / 'notes.pth'
    text.write_text('hello\n')
    cases = [
        (truncated, f'{str(truncated)!r} is a truncated or damaged PyTorch '
         'checkpoint (the end of the file is missing)',
         'Save or download it again, or pass another checkpoint.'),
        (text, f'{str(text)!r} is a text file, not a PyTorch checkpoint (its '
         "first line is 'hello')",
         'Pass a checkpoint written by tools/train.py or torch.save.'),
    ]
    for path, problem, fix in cases:
        code, (_, err) = run_tool(tools['test'], [
            VANILLA, str(path), '--work-dir', str(tmp_path / 'test'),
            '--cfg-options', *trained['options']], capsys)
        assert (code, err) == (1, f'ERROR: {problem}. {fix}\n')
        code, (_, err) = run_tool(tools['train'], [
            VANILLA, '--work-dir', str(tmp_path / 'train'), '--resume',
            str(path), '--cfg-options', *trained['options']], capsys)
        assert (code, err) == (
            1, f'ERROR: --resume: {problem}. No other readable checkpoint is '
            f'in {str(tmp_path)!r}: pass another checkpoint, or train '
            'without --resume to start again.\n')


def test_train_tool_reports_corrupt_data(tools, tmp_path, make_tiny_cifar10,
                                         data_options, capsys):
    import shutil
    data = tmp_path / 'data'
    shutil.copytree(make_tiny_cifar10(per_class_train=2, per_class_test=1),
                    data)
    batch = data / 'cifar-10-batches-py' / 'data_batch_1'
    batch.write_bytes(batch.read_bytes()[:100])
    code, (_, err) = run_tool(tools['train'], [
        VANILLA, '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
        *data_options(str(data), 10), *TINY_WRN], capsys)
    assert code == 1
    assert 'data_batch_1' in err and 'cifar-10-batches-py' in err


def test_nan_loss_stops_before_saving(trained, tools, tmp_path, capsys):
    import shutil
    work_dir = tmp_path / 'wd'
    shutil.copytree(trained['work_dir'], work_dir)
    saved = {p.name: _sha(p) for p in work_dir.glob('*.pth')}
    code, (_, err) = run_tool(tools['train'], [
        VANILLA, '--work-dir', str(work_dir), '--resume', '--cfg-options',
        'train_cfg.max_epochs=3', 'model.head.loss.loss_weight=nan',
        *trained['options']], capsys)
    assert code == 1
    assert 'Non-finite loss at epoch 3' in err and 'loss=nan' in err
    assert {p.name: _sha(p) for p in work_dir.glob('*.pth')} == saved


def test_mmrazor_backbone_checkpoint_gives_mmpretrain_accuracy(
        tools, tmp_path, make_tiny_cifar10, data_options):
    """A checkpoint of an mmpretrain ImageClassifier over MMRazor's own
    WideResNet loads strictly into our vanilla config, and tools/test.py
    predicts exactly what mmpretrain predicts for it."""
    data = make_tiny_cifar10(per_class_train=1, per_class_test=1)
    options = data_options(data, 5)
    cfg = Config.fromfile(VANILLA)
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.update(batch_size=5, num_workers=0, persistent_workers=False)
        loader.dataset.data_root = data
    cfg.model.backbone = dict(_scope_='mmrazor', type='WideResNet',
                              depth=10, widen_factor=1)
    cfg.model.head.in_channels = 64
    cfg.work_dir = str(tmp_path / 'mmpretrain')
    reference_out = tmp_path / 'reference.pkl'
    cfg.test_evaluator = [cfg.test_evaluator,
                          dict(type='DumpResults',
                               out_file_path=str(reference_out))]
    runner = Runner.from_cfg(cfg)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, tensor in runner.model.state_dict().items():
            if tensor.dtype.is_floating_point:
                tensor.copy_(torch.rand(tensor.shape, generator=generator) +
                             (0.5 if 'running_var' in name else -0.5))
    checkpoint = tmp_path / 'mmrazor_wrn10.pth'
    save_checkpoint({'meta': {}, 'state_dict': runner.model.state_dict()},
                    str(checkpoint))
    reference_metrics = runner.test()

    ours_out = tmp_path / 'ours.pkl'
    tools['test'].main([VANILLA, str(checkpoint), '--work-dir',
                        str(tmp_path / 'ours'), '--out', str(ours_out),
                        '--out-item', 'pred', '--cfg-options', *options,
                        *TINY_WRN])
    reference = pickle.loads(reference_out.read_bytes())
    ours = pickle.loads(ours_out.read_bytes())
    assert len(ours) == len(reference) == 10
    for mine, theirs in zip(ours, reference):
        torch.testing.assert_close(mine['pred_score'], theirs['pred_score'])
    metrics_out = tmp_path / 'ours.json'
    tools['test'].main([VANILLA, str(checkpoint), '--work-dir',
                        str(tmp_path / 'ours'), '--out', str(metrics_out),
                        '--cfg-options', *options, *TINY_WRN])
    assert json.loads(metrics_out.read_text())['accuracy/top1'] == \
        pytest.approx(reference_metrics['accuracy/top1'])


def test_test_tool_unwritable_out_folder(trained, tools, tmp_path, capsys):
    (tmp_path / 'file').write_text('')
    out = tmp_path / 'file' / 'metrics.json'
    code, (_, err) = run_tool(tools['test'], [
        VANILLA, str(trained['work_dir'] / 'epoch_2.pth'), '--work-dir',
        str(tmp_path / 'wd'), '--out', str(out), '--cfg-options',
        *trained['options']], capsys)
    assert (code, err) == (
        1, f'ERROR: --out folder {str(out.parent)!r} is a file, not a '
        'folder: pass a folder you can write to.\n')
