from .channels_last_hook import ChannelsLastHook
from .deferred_runtime_info_hook import DeferredRuntimeInfoHook
from .distill_loss_warmup_hook import DistillLossWarmupHook
from .nan_loss_hook import NaNLossHook
from .teacher_bank_hook import TeacherBankHook
from .teacher_eval_hook import TeacherEvalHook

__all__ = [
    'ChannelsLastHook', 'DeferredRuntimeInfoHook', 'DistillLossWarmupHook',
    'NaNLossHook', 'TeacherBankHook', 'TeacherEvalHook'
]
