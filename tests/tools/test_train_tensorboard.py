"""tools/train.py --tensorboard: the scalars also go to a TensorBoard events
file, with the values of mmengine's json log."""
import json

import pytest

from tensorboard.backend.event_processing.event_accumulator import \
    EventAccumulator

VANILLA = 'configs/vanilla/wrn16-w2_b128x1_cifar10.py'
TINY_WRN = ['model.backbone.depth=10', 'model.backbone.widen_factor=1',
            'model.head.in_channels=64']


def test_tensorboard_events_hold_the_logged_scalars(
        tmp_path, make_tiny_cifar10, data_options, tools):
    data = make_tiny_cifar10(per_class_train=2, per_class_test=1)
    tools['train'].main([VANILLA, '--work-dir', str(tmp_path),
                         '--tensorboard', '--cfg-options',
                         'train_cfg.max_epochs=1', *data_options(data, 10),
                         *TINY_WRN])
    events = list(tmp_path.glob('*/vis_data/events.out.tfevents.*'))
    assert len(events) == 1
    accumulator = EventAccumulator(str(events[0].parent)).Reload()
    logged = [json.loads(line) for line in
              (events[0].parent / 'scalars.json').read_text().splitlines()]
    losses = [(r['step'], r['loss']) for r in logged if 'loss' in r]
    assert len(losses) == 2
    assert [(e.step, e.value) for e in accumulator.Scalars('loss')] == [
        (step, pytest.approx(value)) for step, value in losses]
    top1 = [r['accuracy/top1'] for r in logged if 'accuracy/top1' in r]
    assert [e.value for e in accumulator.Scalars('accuracy/top1')] == top1
