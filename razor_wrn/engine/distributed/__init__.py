"""Multi-process training on CPUs (gloo) and GPUs (NCCL).

- :func:`init_distributed` starts the process group for ``--launcher
  pytorch|slurm``, choosing the backend from the machine unless
  ``env_cfg.dist_cfg.backend`` says otherwise.
- :class:`TrainableDDP` wraps the model on either device and leaves frozen
  parts (a distillation's teacher) out of DDP.
- :class:`SyncNormStatsHook` averages the BN running statistics over the
  processes before every validation and checkpoint.
"""
from .ddp import TrainableDDP
from .launch import DistributedSetupError, default_backend, init_distributed
from .sync_norm_stats_hook import SyncNormStatsHook, sync_norm_stats

__all__ = [
    'DistributedSetupError', 'SyncNormStatsHook', 'TrainableDDP',
    'default_backend', 'init_distributed', 'sync_norm_stats'
]
