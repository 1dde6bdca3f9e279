"""``DeviceDataRunner`` builds the device CIFAR loader from a config, and a
classifier or an mmrazor distiller trains and validates on its batches."""
from typing import Dict, List

import pytest
import torch

import razor_wrn  # noqa: F401  (compat shim before any mmrazor import)
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import RUNNERS
from mmengine.runner import ValLoop
from torch.utils.data import DataLoader

from razor_wrn.datasets.device_cifar import DeviceCIFAR10Loader
from razor_wrn.datasets.device_epoch_sampler import DeviceEpochSampler
from razor_wrn.engine.runner import DeviceDataRunner
from razor_wrn.engine import runner as runner_module

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning')


def device_loader_cfg(data_root: str, train: bool, batch_size: int) -> Dict:
    """The config a user writes to select the device loader."""
    return dict(
        type='DeviceCIFAR10Loader',
        data_root=data_root,
        split='train' if train else 'test',
        batch_size=batch_size,
        augment=train,
        shuffle=train,
        device='cpu')


def standard_val_loader_cfg(data_root: str, batch_size: int) -> Dict:
    """mmpretrain's CIFAR-10 test loader (PackInputs only, in order)."""
    return dict(
        batch_size=batch_size,
        num_workers=0,
        dataset=dict(
            _scope_='mmpretrain',
            type='LenientCIFAR10',
            data_root=data_root,
            split='test',
            download=False,
            pipeline=[dict(type='PackInputs')]),
        sampler=dict(type='DefaultSampler', shuffle=False))


def classifier_cfg() -> Dict:
    """WRN-10-1 ImageClassifier with the CIFAR-10 data preprocessor."""
    return dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        data_preprocessor=dict(
            type='ClsDataPreprocessor',
            num_classes=10,
            mean=[125.307, 122.961, 113.8575],
            std=[51.5865, 50.847, 51.255],
            to_rgb=False),
        backbone=dict(type='WideResNet', depth=10, widen_factor=1),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=10,
            in_channels=64,
            loss=dict(type='CrossEntropyLoss'),
            topk=(1, )))


def distill_cfg() -> Dict:
    """mmrazor KD of one WRN-10-1 into another; the algorithm uses the
    student's data preprocessor."""
    logits = dict(type='ModuleOutputs', source='head.fc')
    return dict(
        _scope_='mmrazor',
        type='SingleTeacherDistill',
        architecture=classifier_cfg(),
        teacher=classifier_cfg(),
        distiller=dict(
            type='ConfigurableDistiller',
            student_recorders=dict(fc=logits),
            teacher_recorders=dict(fc=logits),
            distill_losses=dict(
                loss_kl=dict(type='KLDivergence', tau=4, loss_weight=1)),
            loss_forward_mappings=dict(
                loss_kl=dict(
                    preds_S=dict(from_student=True, recorder='fc'),
                    preds_T=dict(from_student=False, recorder='fc')))))


@pytest.fixture(scope='module')
def small_cifar10(make_tiny_cifar10) -> str:
    """20 train / 20 test images (labels ``i % 10``): CPU convolutions
    dominate the end-to-end tests, so they get a quarter of tiny_cifar10."""
    return make_tiny_cifar10(per_class_train=2, per_class_test=2)


def runner_cfg(model: Dict, data_root: str, work_dir: str) -> Config:
    """One epoch of 2 iterations (20 images, batch 10), then validation in
    batches of 8, 8 and 4."""
    return Config(
        dict(
            runner_type='DeviceDataRunner',
            default_scope='mmpretrain',
            model=model,
            work_dir=work_dir,
            train_dataloader=device_loader_cfg(data_root, True, 10),
            val_dataloader=device_loader_cfg(data_root, False, 8),
            val_evaluator=dict(type='Accuracy', topk=(1, )),
            train_cfg=dict(by_epoch=True, max_epochs=1, val_interval=1),
            val_cfg=dict(),
            optim_wrapper=dict(
                optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
            default_hooks=dict(checkpoint=None),
            randomness=dict(seed=11),
            log_level='WARNING'))


class BatchRecorder(Hook):
    """Keep every train batch and the validation scores the runner sees."""

    def __init__(self) -> None:
        self.train_batches: List[Dict] = []
        self.val_scores: List[torch.Tensor] = []

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self.train_batches.append(data_batch)

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None) -> None:
        self.val_scores.extend(s.pred_score for s in outputs)


def test_builds_device_loader_and_takes_runner_seed(tiny_cifar10):
    cfg = device_loader_cfg(tiny_cifar10, True, 32)
    loader = DeviceDataRunner.build_dataloader(cfg, seed=5)
    assert isinstance(loader, DeviceCIFAR10Loader)
    assert (loader.batch_size, len(loader), loader.sampler.seed) == (32, 3, 5)
    # A seed in the config wins; the class itself works as ``type``.
    loader = DeviceDataRunner.build_dataloader(
        dict(cfg, type=DeviceCIFAR10Loader, seed=9), seed=5)
    assert loader.sampler.seed == 9
    # A built loader is used as is.
    assert DeviceDataRunner.build_dataloader(loader) is loader


def test_diff_rank_seed_shares_rank0_seed(tiny_cifar10, monkeypatch):
    # Per-rank runner seeds would give every rank its own permutation and
    # break the sharding, so rank 0's seed is broadcast (DefaultSampler's
    # rule).
    monkeypatch.setattr(runner_module, 'sync_random_seed', lambda: 1234)
    loader = DeviceDataRunner.build_dataloader(
        device_loader_cfg(tiny_cifar10, True, 32), seed=5,
        diff_rank_seed=True)
    assert loader.sampler.seed == 1234


def test_other_dataloader_configs_go_to_mmengine(tiny_cifar10):
    loader = DeviceDataRunner.build_dataloader(
        standard_val_loader_cfg(tiny_cifar10, 16), seed=0)
    assert isinstance(loader, DataLoader)
    assert len(loader) == 3


def test_classifier_trains_and_validates_on_device_batches(
        small_cifar10, tmp_path):
    runner = RUNNERS.build(
        runner_cfg(classifier_cfg(), small_cifar10, str(tmp_path)))
    assert type(runner) is DeviceDataRunner
    recorder = BatchRecorder()
    runner.register_hook(recorder)
    runner.train()

    assert runner.iter == 2
    ids = []
    for batch in recorder.train_batches:
        assert batch['inputs'].dtype == torch.uint8
        assert batch['inputs'].shape == (10, 3, 32, 32)
        ids.append(torch.cat([s.gt_label for s in batch['data_samples']]))
    assert len(ids) == 2
    # Labels are i % 10: 2 of each class over the epoch.
    assert torch.bincount(torch.cat(ids)).tolist() == [2] * 10
    assert runner.train_dataloader.sampler.seed == 11

    # Validation scores equal those of mmpretrain's standard test loader on
    # the same trained model, image for image.
    device_scores = torch.stack(recorder.val_scores)
    device_top1 = runner.message_hub.get_scalar('val/accuracy/top1').current()
    recorder.val_scores.clear()
    standard = ValLoop(runner, standard_val_loader_cfg(small_cifar10, 8),
                       dict(type='Accuracy', topk=(1, )))
    standard_metrics = standard.run()
    standard_scores = torch.stack(recorder.val_scores)
    assert device_scores.shape == (20, 10)
    assert torch.allclose(device_scores, standard_scores, atol=1e-6)
    assert device_top1 == standard_metrics['accuracy/top1']


def test_distiller_trains_on_device_batches(small_cifar10, tmp_path):
    runner = RUNNERS.build(
        runner_cfg(distill_cfg(), small_cifar10, str(tmp_path)))
    algorithm = runner.model
    assert algorithm.data_preprocessor is \
        algorithm.architecture.data_preprocessor
    recorder = BatchRecorder()
    runner.register_hook(recorder)
    runner.train()

    assert runner.iter == 2
    kd = runner.message_hub.get_scalar('train/distill.loss_kl').current()
    ce = runner.message_hub.get_scalar('train/student.loss').current()
    assert kd > 0 and torch.isfinite(torch.tensor([kd, ce])).all()
    assert len(recorder.val_scores) == 20


def test_device_loader_deals_virtual_ranks(tiny_cifar10):
    """``virtual_ranks`` (set by the train recipe on fewer processes): one
    process holding all 8 ranks of 2 images takes, batch by batch, each
    rank's next 2 draws in turn."""
    cfg = dict(device_loader_cfg(tiny_cifar10, True, 16),
               virtual_ranks=dict(world_size=8, batch_size=2))
    loader = DeviceDataRunner.build_dataloader(cfg, seed=5)
    # 80 images: 10 per rank, so 5 steps of 8 x 2.
    assert (loader.batch_size, len(loader)) == (16, 5)
    ranks = [DeviceEpochSampler(80, True, True, 5, rank, 8, 4).draw()
             for rank in range(8)]
    for part, drawn in enumerate(loader.sampler.draw()):
        assert torch.equal(drawn, torch.cat([
            rank[part][step * 2:step * 2 + 2]
            for step in range(5) for rank in ranks]))


def test_the_train_loop_is_mmengines_until_it_is_replaced(
        tiny_cifar10, tmp_path):
    """Built from its config on first use, then the same loop; a loop (or
    a config) put in its place is what the runner answers next, as with
    mmengine's property, and a wrong type is still refused."""
    runner = RUNNERS.build(
        runner_cfg(classifier_cfg(), tiny_cifar10, str(tmp_path)))
    loop = runner.train_loop
    assert type(loop).__name__ == 'EpochBasedTrainLoop'
    assert runner.train_loop is loop and runner.iter == loop.iter
    runner._train_loop = dict(by_epoch=True, max_epochs=3)
    rebuilt = runner.train_loop
    assert rebuilt is not loop and rebuilt.max_epochs == 3
    assert runner.max_epochs == 3
    runner._train_loop = loop
    assert runner.train_loop is loop and runner.max_epochs == 1
    runner._train_loop = 'EpochBasedTrainLoop'
    with pytest.raises(TypeError):
        runner.train_loop
