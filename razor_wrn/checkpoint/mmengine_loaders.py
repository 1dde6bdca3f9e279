"""The loaders mmengine's ``CheckpointLoader`` uses, replaced by safe ones.

mmengine loads ``http(s)://`` checkpoints through ``torch.hub`` with
``weights_only=False``, so both the local and the http(s) schemes of its
``CheckpointLoader`` are replaced by loaders that always pass
``weights_only=True`` and turn every failure into one readable
:class:`CheckpointError`. Importing :mod:`razor_wrn` applies both.
"""
from typing import Any, Optional

from mmengine.runner import CheckpointLoader
from mmengine.runner import checkpoint as mmengine_checkpoint

from .allow_list import allow_mmengine_checkpoint_objects
from .download import URL_SCHEMES
from .reading import load_checkpoint_file


# mmengine logs each load as 'Loads checkpoint by {name[10:]} backend', the
# loader's name less its first ten characters (its own are
# load_from_local, load_from_http): these names keep that word right.
def load_from_local(filename: str, map_location: Optional[Any] = None
                    ) -> Any:
    """mmengine's loader of local paths: :func:`load_checkpoint_file`.

    Raises:
        CheckpointError: as :func:`load_checkpoint_file`.
    """
    return load_checkpoint_file(filename, map_location)


def load_from_http(filename: str, map_location: Optional[Any] = None,
                   model_dir: Optional[str] = None,
                   progress: bool = False) -> Any:
    """mmengine's loader of http(s) URLs (and, through them, of its model
    zoo schemes): :func:`load_checkpoint_file`; ``model_dir`` and
    ``progress`` are accepted and ignored (the download goes to
    :func:`cache_path`, quietly).

    Raises:
        CheckpointError: as :func:`load_checkpoint_file`.
    """
    # mmengine lets rank 0 download first behind a barrier;
    # download_checkpoint's file lock does the same for any processes
    # sharing the cache (several machines, or a call that not every rank
    # makes), without a collective.
    return load_checkpoint_file(filename, map_location)


def use_safe_checkpoint_loaders() -> None:
    """Make every mmengine checkpoint load (``load_from``, ``--resume``,
    ``init_cfg=dict(type='Pretrained')``) go through
    :func:`load_checkpoint_file`."""
    allow_mmengine_checkpoint_objects()
    CheckpointLoader.register_scheme('', load_from_local, force=True)
    CheckpointLoader.register_scheme(URL_SCHEMES, load_from_http,
                                     force=True)
    # mmengine's torchvision://, open-mmlab:// and mmcls:// loaders call its
    # module-level load_from_http directly, bypassing the scheme table.
    mmengine_checkpoint.load_from_http = load_from_http
