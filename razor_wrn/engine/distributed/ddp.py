"""DDP over the trained parts of a model, on CPUs and GPUs."""
from typing import List, Optional

import torch
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS
from torch.nn.parallel import DistributedDataParallel

from .launch import DistributedSetupError


def frozen_children(module: torch.nn.Module) -> List[str]:
    """Names of the direct children that have parameters, none of which
    requires a gradient (a distillation's frozen teacher)."""
    names = []
    for name, child in module.named_children():
        params = list(child.parameters())
        if params and not any(p.requires_grad for p in params):
            names.append(name)
    return names


@MODEL_WRAPPERS.register_module()
class TrainableDDP(MMDistributedDataParallel):
    """mmengine's ``MMDistributedDataParallel`` for CPU and CUDA models,
    reducing only what is trained.

    Select it with ``model_wrapper_cfg = dict(type='TrainableDDP')``
    (``configs/_base_/default_runtime.py`` does). What differs:

    - The Runner passes ``device_ids=[LOCAL_RANK]`` whatever the device;
      torch's DDP accepts ``device_ids`` only for a CUDA module, so they are
      dropped for a CPU one.
    - Frozen children (:func:`frozen_children`: the teacher of
      ``FrozenTeacherDistill``) are outside DDP: neither broadcast when the
      wrapper is built nor reduced nor checked for unused parameters. Every
      rank loads the same teacher, so there is nothing to synchronise; the
      student, its head and the distiller's connectors are reduced.
    - ``broadcast_buffers`` defaults to False, as for mmengine's default
      wrapper: broadcasting rank 0's buffers before every forward would
      still leave the ranks one update apart. ``SyncNormStatsHook`` averages
      the BN statistics before each validation and checkpoint instead.
    - SyncBN layers in a CPU model stop the build with an explanation:
      torch's ``SyncBatchNorm`` trains on GPUs only.

    Args:
        module: The model (an mmengine ``BaseModel``), already on its device.
        device_ids: The Runner's ``[LOCAL_RANK]``; used for a CUDA module.
        broadcast_buffers: Broadcast rank 0's buffers before every forward.
        **kwargs: Further arguments of ``MMDistributedDataParallel``, e.g.
            ``find_unused_parameters``.

    Raises:
        DistributedSetupError: If a CPU model holds SyncBN layers it trains.
    """

    def __init__(self,
                 module: torch.nn.Module,
                 device_ids: Optional[List[int]] = None,
                 broadcast_buffers: bool = False,
                 **kwargs) -> None:
        frozen = frozen_children(module)
        on_cuda = next(module.parameters()).is_cuda
        if not on_cuda:
            device_ids = None
            sync_bn = [
                name for name, layer in module.named_modules()
                if isinstance(layer, torch.nn.SyncBatchNorm)
                and name.split('.')[0] not in frozen
            ]
            if sync_bn:
                raise DistributedSetupError(
                    f'SyncBN layers ({sync_bn[0]}, ...) train on GPUs only '
                    "(torch's SyncBatchNorm); on the CPU use BN, e.g. "
                    "--cfg-options model.backbone.norm_cfg.type=BN, and "
                    'leave sync_bn unset.')
        DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(
            module, [
                f'{child}.{name}' for child in frozen
                for name, _ in (
                    *module.get_submodule(child).named_parameters(),
                    *module.get_submodule(child).named_buffers())
            ])
        super().__init__(
            module=module,
            device_ids=device_ids,
            broadcast_buffers=broadcast_buffers,
            **kwargs)
