"""Stop a run whose data loaders give no batches, before it starts."""
from typing import Any

from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import BaseLoop

from ...datasets.loader_settings import batch_size_of, drop_last_of
from ...errors import UserError


def _images(loader: Any) -> str:
    """'N images' of a loader's data set, or 'its data' if it has no
    length."""
    dataset = getattr(loader, 'dataset', None)
    return f'{len(dataset)} images' if hasattr(dataset, '__len__') else \
        'its data'


@HOOKS.register_module()
class DataCheckHook(Hook):
    """Refuse to train, validate or test on a loader with no batches.

    Training data smaller than one batch with ``drop_last=True``, or an
    empty subset (``dataset.indices=[]``), gives zero iterations per epoch:
    mmengine then validates the initial weights, saves them as "best"
    checkpoints and exits 0, and an iteration-based loop waits forever for a
    batch. An empty validation or test set fails inside mmengine's sampler
    with a ZeroDivisionError. This hook runs first (``HIGHEST``), before the
    teacher is evaluated or anything is saved.

    Raises:
        UserError: a loader has no batches; the message gives the data and
            batch sizes and what to change.
    """

    priority = 'HIGHEST'

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        if len(loader) == 0:
            drop_last = drop_last_of(loader)
            raise UserError(
                'The training data gives no batches: train_dataloader has '
                f'{_images(loader)}, batch_size '
                f'{batch_size_of(loader)}' +
                (f', drop_last={drop_last}' if drop_last is not None else '')
                + ' (per process). Lower train_dataloader.batch_size, set '
                'train_dataloader.drop_last=False, or check the data set '
                '(data_root, indices).')
        val_loop = getattr(runner, '_val_loop', None)
        if isinstance(val_loop, BaseLoop):
            self._check_not_empty(val_loop.dataloader, 'val_dataloader',
                                  ' or pass --no-validate')

    def before_val(self, runner) -> None:
        self._check_not_empty(runner.val_dataloader, 'val_dataloader')

    def before_test(self, runner) -> None:
        self._check_not_empty(runner.test_dataloader, 'test_dataloader')

    @staticmethod
    def _check_not_empty(loader: Any, name: str, other_fix: str = '') -> None:
        """Raise a UserError naming ``name`` when ``loader`` has no
        batches."""
        if len(loader) == 0:
            raise UserError(
                f'The data of {name} gives no batches ({_images(loader)}): '
                f'check {name}.dataset (data_root, indices){other_fix}.')
