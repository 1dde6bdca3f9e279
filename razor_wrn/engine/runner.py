"""An mmengine ``Runner`` that can build the device-resident CIFAR loaders.

mmengine's ``Runner.build_dataloader`` only knows ``torch.utils.data.
DataLoader`` configs (dataset + sampler + workers). ``DeviceDataRunner``
builds a :class:`~razor_wrn.datasets.device_cifar.DeviceTensorLoader`
subclass when a dataloader config's ``type`` names one (registered in
:data:`~razor_wrn.datasets.device_cifar.DEVICE_LOADERS`, e.g.
``'DeviceCIFAR10Loader'``, ``'DeviceCIFAR100Loader'``, or the class itself)
and hands every other config to mmengine unchanged, so train, val and test
loaders can be mixed.

Select it in a config (tools build it with ``RUNNERS.build(cfg)`` when
``runner_type`` is set, mmpretrain's ``tools/train.py`` convention)::

    runner_type = 'DeviceDataRunner'
    train_dataloader = dict(
        _delete_=True, type='DeviceCIFAR10Loader', data_root='data/cifar10',
        split='train', batch_size=128, augment=True, shuffle=True)
"""
import copy
from typing import Dict, Optional, Union

from mmengine.dist import sync_random_seed
from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from torch.utils.data import DataLoader

from razor_wrn.datasets.device_cifar import (DeviceTensorLoader,
                                             device_loader_class)
from razor_wrn.datasets.device_epoch_sampler import DeviceEpochSampler


def deal_virtual_ranks(loader: DeviceTensorLoader,
                       virtual_ranks: Optional[Dict]) -> DeviceTensorLoader:
    """``loader``, its sampler now drawing as ``virtual_ranks``
    (``dict(world_size=R, batch_size=B)``: the draws of R recipe ranks,
    dealt out; :class:`DeviceEpochSampler`); unchanged for None."""
    if virtual_ranks is not None:
        drawn = loader.sampler
        loader.sampler = DeviceEpochSampler(
            drawn.num_samples, drawn.shuffle, drawn.augment, drawn.seed,
            drawn.rank, drawn.world_size, drawn.padding, virtual_ranks)
    return loader


@RUNNERS.register_module()
class DeviceDataRunner(Runner):
    """``Runner`` whose dataloader configs may select a device loader."""

    @staticmethod
    def build_dataloader(
        dataloader: Union[DataLoader, DeviceTensorLoader, Dict],
        seed: Optional[int] = None,
        diff_rank_seed: bool = False
    ) -> Union[DataLoader, DeviceTensorLoader]:
        """Build the device loader a config's ``type`` selects; defer any
        other config to :meth:`mmengine.runner.Runner.build_dataloader`.

        Args:
            dataloader (DataLoader | DeviceTensorLoader | dict): A built
                loader (returned as is) or its config; the device loader's
                config holds its constructor arguments next to ``type``.
            seed (int, optional): The runner's seed, used when the config
                sets no ``seed``.
            diff_rank_seed (bool): Whether ranks were given different seeds.
                The loader's order must agree across ranks to shard it, so
                then (as mmengine's ``DefaultSampler`` does) rank 0's seed is
                broadcast instead.

        Returns:
            DataLoader | DeviceTensorLoader: The built loader.
        """
        if isinstance(dataloader, DeviceTensorLoader):
            return dataloader
        loader_class = device_loader_class(dataloader.get('type')) \
            if isinstance(dataloader, dict) else None
        if loader_class is None:
            return Runner.build_dataloader(dataloader, seed, diff_rank_seed)
        kwargs = copy.deepcopy(dict(dataloader))
        kwargs.pop('type')
        if 'seed' not in kwargs:
            kwargs['seed'] = (
                sync_random_seed()
                if seed is None or diff_rank_seed else seed)
        # Set by razor_wrn.engine.train_recipe: the draws of more ranks than
        # processes, dealt out (DeviceEpochSampler).
        virtual_ranks = kwargs.pop('virtual_ranks', None)
        return deal_virtual_ranks(loader_class(**kwargs), virtual_ranks)

    @property
    def train_loop(self):
        """mmengine's ``Runner.train_loop`` (built from its config on first
        use), answered without mmengine's check while ``_train_loop`` is
        still the loop it last returned.

        mmengine checks the loop with an ABC ``isinstance`` on every access,
        and ``runner.iter``, ``epoch``, ``max_iters`` and
        ``train_dataloader`` all go through it: several times per training
        iteration from the hooks.
        """
        loop = self._train_loop
        if loop is not None and loop is self.__dict__.get('_returned_loop'):
            return loop
        loop = Runner.train_loop.fget(self)
        self._returned_loop = loop
        return loop
