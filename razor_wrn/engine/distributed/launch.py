"""Start the process group of a multi-process run, on CPUs or GPUs.

mmengine's ``init_dist`` calls ``torch.cuda.set_device(LOCAL_RANK)`` for
every backend, and its default backend is NCCL, so ``tools/dist_train.sh``
cannot start on a machine without CUDA. :func:`init_distributed` starts the
group itself before the Runner is built (the Runner then skips its own
``init_dist``): NCCL with one GPU per process where CUDA is available, gloo
on the CPU otherwise, unless the config sets ``env_cfg.dist_cfg.backend``.
"""
import atexit
import datetime
import os
import subprocess
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config

from ...errors import DistributedSetupError


def default_backend() -> str:
    """``'nccl'`` where CUDA is available, ``'gloo'`` (CPU) otherwise."""
    return 'nccl' if torch.cuda.is_available() else 'gloo'


def export_slurm_env(port: Optional[int] = None) -> None:
    """Set the variables torchrun would set (``RANK``, ``LOCAL_RANK``,
    ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``) from those of an
    ``srun`` task, as mmengine's ``_init_dist_slurm`` does, but without
    touching CUDA.

    Args:
        port: Rendezvous port; defaults to ``MASTER_PORT`` if set, else
            29500 (torch's default).

    Raises:
        DistributedSetupError: If the process was not started by ``srun``.
    """
    missing = [name for name in ('SLURM_PROCID', 'SLURM_NTASKS',
                                 'SLURM_NODELIST', 'SLURM_LOCALID')
               if name not in os.environ]
    if missing:
        raise DistributedSetupError(
            f'--launcher slurm needs the variables srun sets ({missing} are '
            'missing): start the run with tools/slurm_train.sh or '
            'tools/slurm_test.sh.')
    if port is not None:
        os.environ['MASTER_PORT'] = str(port)
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        node_list = os.environ['SLURM_NODELIST']
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {node_list} | head -n1')
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['LOCAL_RANK'] = os.environ['SLURM_LOCALID']


def init_distributed(cfg: Config) -> None:
    """Start the default process group for ``cfg.launcher``.

    Does nothing for ``launcher='none'`` or when a group already exists.
    ``env_cfg.dist_cfg`` holds ``backend`` (``nccl``/``gloo``/``mpi``; empty
    or missing: :func:`default_backend`), ``timeout`` in seconds, ``port``
    (slurm only), and further ``init_process_group`` arguments. The chosen
    backend is written back to ``cfg.env_cfg.dist_cfg.backend``, so the
    logged config says what ran.

    Args:
        cfg: The run's config; ``cfg.launcher`` is ``'none'``, ``'pytorch'``
            (torchrun's environment) or ``'slurm'`` (srun's environment).

    Raises:
        DistributedSetupError: If the launcher's environment is missing, NCCL
            is asked for without CUDA, or a process has no GPU of its own.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch_dist.is_initialized():
        return
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    kwargs = dict(dist_cfg)
    backend = kwargs.pop('backend', None) or default_backend()
    port = kwargs.pop('port', None)
    if kwargs.get('timeout') is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
    if launcher == 'slurm':
        export_slurm_env(port)
    missing = [name for name in ('RANK', 'LOCAL_RANK', 'WORLD_SIZE',
                                 'MASTER_ADDR', 'MASTER_PORT')
               if name not in os.environ]
    if missing:
        raise DistributedSetupError(
            f'--launcher {launcher} needs the variables torchrun sets '
            f'({missing} are missing): start the run with '
            'tools/dist_train.sh CONFIG N (or dist_test.sh), or drop '
            '--launcher for one process.')
    if backend == 'nccl' and not torch.cuda.is_available():
        raise DistributedSetupError(
            "env_cfg.dist_cfg.backend='nccl' needs CUDA, and this machine "
            "has none: set it to 'gloo', or leave it unset to choose gloo "
            'on CPUs and NCCL on GPUs.')
    if torch.cuda.is_available():
        local_rank = int(os.environ['LOCAL_RANK'])
        if local_rank >= torch.cuda.device_count():
            raise DistributedSetupError(
                f'Process {local_rank} of this node has no GPU: '
                f'{torch.cuda.device_count()} visible. Start at most one '
                'process per GPU, or hide the GPUs '
                '(CUDA_VISIBLE_DEVICES=) to run the processes on the CPU.')
        torch.cuda.set_device(local_rank)
    torch_dist.init_process_group(backend=backend, **kwargs)
    # A group still alive when the interpreter exits can abort the process
    # from its backend's threads ("terminate called without an active
    # exception"), after the run has finished: the process started it, so
    # it ends it.
    atexit.register(_destroy_process_group)
    dist_cfg['backend'] = backend


def _destroy_process_group() -> None:
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()
