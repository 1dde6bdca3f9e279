"""Curves: plot_curves.py holds exactly the logged values, merges resumed
runs into one curve and writes the figure; tools/train.py --tensorboard
writes the same scalars to a TensorBoard events file."""
import json
from pathlib import Path

import pytest

from conftest import load_tool

VANILLA = 'configs/vanilla/wrn16-w2_b128x1_cifar10.py'
TINY_WRN = ['model.backbone.depth=10', 'model.backbone.widen_factor=1']


@pytest.fixture(scope='module')
def plot_curves():
    """The tool as a module, loaded by the tests that use it (it imports
    matplotlib: 0.3 s of every test process's collection otherwise)."""
    return load_tool('analysis_tools/plot_curves.py')


def _rows(work_dir: Path) -> list:
    return [json.loads(line)
            for path in sorted(work_dir.glob('*/vis_data/scalars.json'))
            for line in path.read_text().splitlines()]


@pytest.fixture(scope='module')
def resumed_run(tmp_path_factory, make_tiny_cifar10, data_options, tools):
    """WRN-10-1, 2 iterations per epoch: one epoch with --tensorboard, then
    resumed to two (two timestamped logs)."""
    work_dir = tmp_path_factory.mktemp('curves')
    options = data_options(make_tiny_cifar10(per_class_train=2,
                                             per_class_test=1), 10)
    for epochs, flag in ((1, '--tensorboard'), (2, '--resume')):
        tools['train'].main([VANILLA, '--work-dir', str(work_dir), flag,
                             '--cfg-options', f'train_cfg.max_epochs={epochs}',
                             *options, *TINY_WRN])
    return work_dir


def test_curves_are_the_logged_values_of_both_logs(resumed_run, tmp_path, plot_curves):
    out = tmp_path / 'curves.png'
    runs = plot_curves.main([str(resumed_run), str(resumed_run), '--labels',
                             'a', 'b', '--out', str(out)])
    rows = _rows(resumed_run)
    train = [r for r in rows if 'iter' in r]
    val = [r for r in rows if 'iter' not in r]
    curves = runs['a']
    assert curves['loss'] == plot_curves.Curve(
        [1, 2, 3, 4], [r['loss'] for r in train], False)
    assert curves['accuracy/top1'] == plot_curves.Curve(
        [1, 2], [r['accuracy/top1'] for r in val], True)
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_a_later_log_replaces_the_steps_an_interrupted_one_logged(tmp_path, plot_curves):
    for stamp, rows in (('20260101_000000', [(1, 3.0), (2, 2.0)]),
                        ('20260101_010000', [(2, 1.5), (3, 1.0)])):
        folder = tmp_path / stamp / 'vis_data'
        folder.mkdir(parents=True)
        (folder / 'scalars.json').write_text(''.join(
            json.dumps(dict(loss=v, epoch=1, iter=s, step=s)) + '\n'
            for s, v in rows))
    assert plot_curves.read_curves(str(tmp_path)) == {
        'loss': plot_curves.Curve([1, 2, 3], [3.0, 1.5, 1.0], False)}


def test_default_keys_are_every_loss_then_top1(plot_curves):
    runs = [{'loss': None, 'lr': None, 'loss_student': None},
            {'loss': None, 'loss_kd': None, 'accuracy/top1': None}]
    assert plot_curves.default_keys(runs) == [
        'loss', 'loss_student', 'loss_kd', 'accuracy/top1']


def test_errors_name_the_problem(tmp_path, resumed_run, plot_curves):
    with pytest.raises(plot_curves.UserError, match='scalars.json'):
        plot_curves.main([str(tmp_path), '--out', str(tmp_path / 'x.png')])
    with pytest.raises(plot_curves.UserError, match="No run logged 'loss_kd'"):
        plot_curves.main([str(resumed_run), '--keys', 'loss_kd',
                          '--out', str(tmp_path / 'x.png')])


def test_tensorboard_events_hold_the_logged_scalars(resumed_run):
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    (events, ) = resumed_run.glob('*/vis_data/events.out.tfevents.*')
    accumulator = EventAccumulator(str(events.parent)).Reload()
    logged = [json.loads(line) for line in
              (events.parent / 'scalars.json').read_text().splitlines()]
    losses = [(r['step'], r['loss']) for r in logged if 'loss' in r]
    assert len(losses) == 2
    assert [(e.step, e.value) for e in accumulator.Scalars('loss')] == [
        (step, pytest.approx(value)) for step, value in losses]
    top1 = [r['accuracy/top1'] for r in logged if 'accuracy/top1' in r]
    assert [e.value for e in accumulator.Scalars('accuracy/top1')] == top1
