"""Training machinery; importing this registers it in mmengine's registries.

One module (or sub-package) per concept; add an import line and an
``__all__`` entry per new module.
"""
from .distributed import SyncNormStatsHook, TrainableDDP
from .hooks import DeferredRuntimeInfoHook, NaNLossHook, TeacherEvalHook
from .loops import TeacherStudentValLoop
from .runner import DeviceDataRunner

__all__ = [
    'DeferredRuntimeInfoHook', 'DeviceDataRunner', 'NaNLossHook',
    'SyncNormStatsHook', 'TeacherEvalHook', 'TeacherStudentValLoop',
    'TrainableDDP'
]
