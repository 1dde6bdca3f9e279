"""LogIntervalHook: a short epoch logs about logs_per_epoch times, a long one
keeps the configured interval, and the deferring hooks follow it."""
import json

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner

from razor_wrn.engine.hooks import LogIntervalHook


class _Linear(BaseModel):
    """``loss = mean((w x)^2)`` over 2-d inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)

    def forward(self, inputs, mode='loss'):
        return dict(loss=self.fc(inputs).pow(2).mean())


def _train(work_dir, samples: int, interval: int) -> Runner:
    """One epoch over ``samples`` samples in batches of 2."""
    runner = Runner(
        model=_Linear(), work_dir=str(work_dir),
        experiment_name=f'{work_dir.name}',
        train_dataloader=dict(
            dataset=[dict(inputs=torch.ones(2) * i) for i in range(samples)],
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2, num_workers=0,
            collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.0)),
        default_hooks=dict(
            runtime_info=dict(type='DeferredRuntimeInfoHook'),
            logger=dict(type='LoggerHook', interval=interval),
            log_interval=dict(type='LogIntervalHook', logs_per_epoch=5),
            checkpoint=None),
        custom_hooks=[dict(type='NaNLossHook')],
        log_level='WARNING')
    runner.train()
    return runner


def _logged_iterations(work_dir):
    (path, ) = work_dir.glob('*/vis_data/scalars.json')
    return [json.loads(line)['iter'] for line in path.read_text().splitlines()]


@pytest.mark.parametrize('samples,interval,expected', [
    (20, 100, 2),   # 10 iterations: every 2, not once at the end
    (26, 100, 2),   # 13 iterations // 5
    (8, 100, 1),    # fewer iterations than logs_per_epoch: every one
    (40, 3, 3),     # 20 iterations: the configured 3 is already finer
])
def test_interval_is_a_fraction_of_the_epoch(tmp_path, samples, interval,
                                             expected):
    runner = _train(tmp_path, samples, interval)
    iterations = samples // 2
    # LoggerHook's ignore_last (default True) skips a last partial window.
    assert _logged_iterations(tmp_path) == list(
        range(expected, iterations + 1, expected))
    deferring = [h for h in runner.hooks
                 if type(h).__name__ in ('DeferredRuntimeInfoHook',
                                         'NaNLossHook')]
    assert [h._logging_iterations.interval for h in deferring] == [
        expected, expected]


def test_logs_per_epoch_must_be_positive():
    with pytest.raises(ValueError, match='logs_per_epoch'):
        LogIntervalHook(0)
