"""ResumeHook re-derives the schedule from the current config: a mixed
iteration/epoch schedule stopped after one epoch of a shorter run and resumed
into the full run sees the lrs of the uninterrupted full run, and a new lr
in the config is followed."""
from typing import List

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import DataLoader

import razor_wrn  # noqa: F401  (registers the hooks)

# Linear warm-up over the first 3 iterations (0.01, 0.055, 0.1), then / 10
# after epochs 1 and 2.
SCHEDULE = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=3),
    dict(type='MultiStepLR', by_epoch=True, milestones=[1, 2], gamma=0.1),
]


class Toy(BaseModel):

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(1, 1)

    def forward(self, inputs, mode='loss'):
        return {'loss': self.fc(inputs).square().mean()}


class RecordLr(Hook):

    def __init__(self, lrs: List[float]) -> None:
        self.lrs = lrs

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.lrs.append(runner.optim_wrapper.get_lr()['lr'][0])


def train(work_dir, max_epochs: int, lrs: list, resume: str = None,
          lr: float = 0.1):
    torch.manual_seed(0)
    Runner(
        model=Toy(), work_dir=str(work_dir),
        train_dataloader=DataLoader([dict(inputs=torch.ones(1))] * 4),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr)),
        param_scheduler=SCHEDULE,
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(
            checkpoint=dict(type='AtomicCheckpointHook', interval=1)),
        custom_hooks=[dict(type='ResumeHook'), RecordLr(lrs)],
        resume=resume is not None, load_from=resume,
    ).train()


def test_resumed_mixed_schedule_matches_the_uninterrupted_run(tmp_path):
    full, first, resumed = [], [], []
    train(tmp_path / 'full', 3, full)
    train(tmp_path / 'short', 1, first)
    train(tmp_path / 'resumed', 3, resumed,
          resume=str(tmp_path / 'short' / 'epoch_1.pth'))

    expected = [0.01, 0.055, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01,
                0.001, 0.001, 0.001, 0.001]
    assert full == pytest.approx(expected, rel=1e-6)
    assert first == full[:4]
    assert resumed == full[4:]


def test_resumed_with_another_lr_follows_it(tmp_path):
    first, resumed = [], []
    train(tmp_path / 'short', 1, first)
    train(tmp_path / 'resumed', 2, resumed, lr=0.05,
          resume=str(tmp_path / 'short' / 'epoch_1.pth'))
    # 0.05 / 10 after epoch 1; mmengine kept the checkpoint's 0.1.
    assert resumed == pytest.approx([0.005] * 4, rel=1e-6)

