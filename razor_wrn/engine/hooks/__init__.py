from .channels_last_hook import ChannelsLastHook
from .distill_loss_warmup_hook import DistillLossWarmupHook
from .nan_loss_hook import NaNLossHook
from .teacher_eval_hook import TeacherEvalHook

__all__ = ['DistillLossWarmupHook', 'NaNLossHook', 'TeacherEvalHook']
