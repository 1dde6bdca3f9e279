default_scope = 'mmpretrain'
custom_imports = dict(imports=['razor_wrn'], allow_failed_imports=False)

default_hooks = dict(
    # mmengine's RuntimeInfoHook, converting the loss tensors to floats only
    # when they are logged or saved instead of every iteration (a GPU sync).
    runtime_info=dict(type='DeferredRuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
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
)
custom_hooks = [dict(type='NaNLossHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=None, deterministic=False)
