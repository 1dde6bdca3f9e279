default_scope = 'mmpretrain'
custom_imports = dict(imports=['razor_wrn'], allow_failed_imports=False)

# mmengine's validation and test loops (the distillation configs'
# kd_runtime.py validates the teacher too); the schedules set train_cfg.
# TensorValLoop is mmengine's ValLoop that, on a device-resident loader or
# a standard one with the [PackInputs] pipeline (whole batches made from
# arrays of the split), keeps the scores on the device and reads them back
# once per evaluation.
val_cfg = dict(type='TensorValLoop')
test_cfg = dict()

default_hooks = dict(
    # mmengine's RuntimeInfoHook and IterTimerHook, converting the loss
    # tensors to floats and writing the log histories only when they are
    # logged or saved (a GPU sync and history copies every iteration).
    runtime_info=dict(type='DeferredRuntimeInfoHook'),
    timer=dict(type='DeferredIterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    # Log at most every 100 iterations and about 10 times per epoch, so a
    # short epoch (small data) also shows its progress and ETA.
    log_interval=dict(type='LogIntervalHook', logs_per_epoch=10),
    # Stop before the first epoch when a data loader has no batches.
    data_check=dict(type='DataCheckHook'),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Keep the newest three epochs plus the best top-1 checkpoint, each file
    # (and last_checkpoint) written atomically: a kill never damages one.
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=1, max_keep_ckpts=3,
        save_best='auto'),
    # --resume: strict weights, no files of other work dirs, and the
    # optimizer and schedule of the current config.
    resume=dict(type='ResumeHook'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Stop on a NaN/inf loss before anything is saved. Hooks that configs
    # add go here too (by name), so a config that adds one keeps the rest.
    nan_loss=dict(type='NaNLossHook'),
    # In multi-process runs every rank validates and saves the same BN
    # statistics (their mean over the ranks); nothing in one process.
    sync_norm_stats=dict(type='SyncNormStatsHook'),
)
# DDP on CPUs and GPUs, the frozen teacher of a distillation left out.
model_wrapper_cfg = dict(type='TrainableDDP')

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # backend None: NCCL where CUDA is available, gloo otherwise
    # (razor_wrn.engine.distributed); set 'nccl' or 'gloo' to choose.
    dist_cfg=dict(backend=None),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=None, deterministic=False)
