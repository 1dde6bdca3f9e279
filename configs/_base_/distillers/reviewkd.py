# ReviewKD (Chen et al., CVPR 2021, "Distilling Knowledge via Knowledge
# Review"), as the authors' CIFAR-100 code (dvlab-research/ReviewKD) and
# mdistiller's ReviewKD: the student's three stage outputs and its pooled
# feature are fused from the deepest to the shallowest by attention-based
# fusion (ABFConnector: 1x1 conv + BN to min(512, C_last) channels, blended
# with the upsampled deeper fused feature by two sigmoid attention maps,
# 3x3 conv + BN to the teacher's channels) and compared with the teacher's
# pre-ReLU stage outputs (the BN that follows each stage) and its pooled
# feature by the hierarchical context loss (HCLLoss: MSE of the maps and of
# their 4x4, 2x2, 1x1 average pools, weights 1, 1/2, 1/4, 1/8), weight 5
# (the authors' for their WRN pairs), ramped up over the first 20 epochs
# (`reviewkd_warmup`, factor epoch / 20 from epoch 1, as mdistiller; the
# authors' loop starts at 0 / 20). Channels follow the models.
# The teacher is frozen in eval mode as mdistiller's; the authors' script
# leaves its BN in training mode (batch statistics: add
# `model.teacher_bn_stats='batch'`) and trains with batch 128, lr 0.1 and
# Nesterov momentum, where the configs here keep the benchmark's recipe.
# A method config uses it as `model = dict(distiller=_base_.reviewkd)` and
# `default_hooks = dict(reviewkd_warmup=_base_.reviewkd_warmup)`.
_features = ['stage0', 'stage1', 'stage2', 'pooled']
reviewkd = dict(
    type='FeatureListDistiller',
    student_recorders=dict(
        **{f'stage{s}': dict(type='StageOutputs', stage=s) for s in range(3)},
        pooled=dict(type='ModuleOutputs', source='neck.gap')),
    teacher_recorders=dict(
        **{f'stage{s}': dict(type='StageOutputs', stage=s, pre_relu=True)
           for s in range(3)},
        pooled=dict(type='ModuleOutputs', source='neck.gap')),
    connectors=dict(abf=dict(type='ABFConnector')),
    distill_losses=dict(loss_reviewkd=dict(type='HCLLoss', loss_weight=5.0)),
    loss_forward_mappings=dict(
        loss_reviewkd=dict(
            s_feats=dict(
                from_student=True, recorder=_features, connector='abf'),
            t_feats=dict(from_student=False, recorder=_features))))
reviewkd_warmup = dict(
    type='DistillLossWarmupHook', loss_names=['loss_reviewkd'],
    warmup_epochs=20)
