"""Training machinery; importing this registers it in mmengine's registries.

One module (or sub-package) per concept; add an import line and an
``__all__`` entry per new module.
"""
from .hooks import DeferredRuntimeInfoHook, NaNLossHook, TeacherEvalHook
from .loops import TeacherStudentValLoop
from .optim_wrappers import BF16AutocastOptimWrapper
from .runner import DeviceDataRunner

__all__ = [
    'BF16AutocastOptimWrapper', 'DeferredRuntimeInfoHook', 'DeviceDataRunner',
    'NaNLossHook', 'TeacherEvalHook', 'TeacherStudentValLoop'
]
