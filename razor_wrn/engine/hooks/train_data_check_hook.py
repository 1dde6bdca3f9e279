"""Stop a run whose training loader gives no batches, before it starts."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class TrainDataCheckHook(Hook):
    """Refuse to train on a loader with no batches.

    Data smaller than one batch with ``drop_last=True``, or an empty subset
    (``dataset.indices=[]``), gives zero iterations per epoch: mmengine then
    validates the initial weights, saves them as "best" checkpoints and
    exits 0, and an iteration-based loop waits forever for a batch. This
    hook runs first (``HIGHEST``), before the teacher is evaluated or
    anything is saved.

    Raises:
        UserError: the training loader has no batches; the message gives
            the data and batch sizes and what to change.
    """

    priority = 'HIGHEST'

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        if len(loader) > 0:
            return
        from razor_wrn.cli import UserError  # cli imports the hooks
        dataset = getattr(loader, 'dataset', None)
        images = f'{len(dataset)} images' if dataset is not None and hasattr(
            dataset, '__len__') else 'its data'
        batch = getattr(loader, 'batch_size', None)
        drop_last = getattr(loader, 'drop_last', None)
        raise UserError(
            f'The training data gives no batches: train_dataloader has '
            f'{images}, batch_size {batch}' +
            (f', drop_last={drop_last}' if drop_last is not None else '') +
            ' (per process). Lower train_dataloader.batch_size, set '
            'train_dataloader.drop_last=False, or check the data set '
            '(data_root, indices).')
