"""Checkpoint loading that never runs code from a file, with readable errors.

- :mod:`.allow_list`: the plain-data globals (mmengine's ``HistoryBuffer``,
  numpy arrays and scalars) ``torch.load(weights_only=True)`` may build.
- :mod:`.mmengine_loaders`: the safe loaders of mmengine's
  ``CheckpointLoader`` (local paths and http(s) URLs), which importing
  :mod:`razor_wrn` registers.
- :mod:`.download`: http(s) checkpoints, downloaded once into torch's hub
  cache under a file lock and checked against the hash in their name.
- :mod:`.diagnosis`: what is wrong with a file or directory given as a
  checkpoint, and the fix.
- :mod:`.reading`: a checkpoint file read safely, and its state dict.
- :mod:`.fitting`: weights loaded into a model strictly, mismatches listed.
- :mod:`.teacher`: the distillation teacher's checkpoint, checked and loaded.
- :mod:`.file_modes`: the permission bits a file written through a
  temporary file gets.
- :mod:`.atomic_files`: files written through a temporary file and a
  rename, so that a kill or a full disk leaves the old file whole.
- :mod:`.publishing`: a checkpoint reduced to its weights and meta for
  release, under the model zoo's name.
"""
from ..errors import CheckpointError
from .allow_list import allow_mmengine_checkpoint_objects
from .atomic_files import (checkpoint_bytes, save_checkpoint_file,
                           write_atomically)
from .diagnosis import (LEGACY_MAGIC, POINTER, SAVE_AGAIN, ZIP_MAGIC,
                        UnreadableCheckpointError, checkpoint_recency,
                        directory_error, likely_checkpoint)
from .download import (HASH_SUFFIX, URL_SCHEMES, cache_path,
                       download_checkpoint, file_sha256)
from .file_modes import new_file_mode
from .fitting import check_weights_fit, fit_load_from, load_weights_strictly
from .mmengine_loaders import (load_from_http, load_from_local,
                               use_safe_checkpoint_loaders)
from .reading import (CIFAR_ZOO_CONVERTER, cifar_zoo_wrn_weights,
                      load_checkpoint_file, state_dict_of)
from .teacher import check_teacher_ckpt, load_teacher_ckpt

__all__ = [
    'CIFAR_ZOO_CONVERTER', 'CheckpointError', 'HASH_SUFFIX', 'LEGACY_MAGIC',
    'POINTER', 'SAVE_AGAIN', 'URL_SCHEMES', 'UnreadableCheckpointError',
    'ZIP_MAGIC', 'allow_mmengine_checkpoint_objects', 'cache_path',
    'check_teacher_ckpt', 'check_weights_fit', 'checkpoint_recency',
    'checkpoint_bytes', 'cifar_zoo_wrn_weights', 'directory_error', 'download_checkpoint',
    'file_sha256', 'fit_load_from', 'likely_checkpoint',
    'load_checkpoint_file', 'load_from_http', 'load_from_local',
    'load_teacher_ckpt', 'load_weights_strictly', 'new_file_mode',
    'save_checkpoint_file', 'state_dict_of', 'use_safe_checkpoint_loaders',
    'write_atomically'
]
