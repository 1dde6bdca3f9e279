from .stage_outputs_recorder import StageOutputsRecorder

__all__ = ['StageOutputsRecorder']
