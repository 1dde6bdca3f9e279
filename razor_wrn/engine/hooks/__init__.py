from .nan_loss_hook import NaNLossHook
from .teacher_eval_hook import TeacherEvalHook

__all__ = ['NaNLossHook', 'TeacherEvalHook']
