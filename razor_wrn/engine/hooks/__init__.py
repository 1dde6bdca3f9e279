from .atomic_checkpoint_hook import AtomicCheckpointHook
from .channels_last_hook import ChannelsLastHook
from .crd_training_set_hook import CRDTrainingSetHook, training_set_labels
from .data_check_hook import DataCheckHook
from .deferred_iter_timer_hook import DeferredIterTimerHook
from .deferred_runtime_info_hook import DeferredRuntimeInfoHook
from .distill_loss_warmup_hook import DistillLossWarmupHook
from .log_interval_hook import LogIntervalHook
from .nan_loss_hook import NaNLossHook
from .teacher_eval_hook import TeacherEvalHook
from .train_recipe_hook import TrainRecipeHook

__all__ = [
    'AtomicCheckpointHook', 'CRDTrainingSetHook', 'ChannelsLastHook',
    'DataCheckHook', 'DeferredIterTimerHook', 'DeferredRuntimeInfoHook', 'DistillLossWarmupHook',
    'LogIntervalHook', 'NaNLossHook', 'TeacherEvalHook', 'TrainRecipeHook',
    'training_set_labels'
]
