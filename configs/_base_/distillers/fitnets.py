# FitNets (Romero et al., ICLR 2015): the student's stage-1 output (the
# second of three stages) passes a 1x1 conv + BN connector and is matched to
# the teacher's stage-1 output by MSE (weight 100), the single-stage hint of
# mdistiller's CIFAR recipe (HINT_LAYER 2 of its feature list). The
# connector's channels follow the models. Two connectors:
# - `fitnets`: conv + BN, no activation, as MMRazor's FitNets connector
#   (ConvModuleConnector with act_cfg=None); the CIFAR-10 configs use it.
# - `fitnets_convreg`: conv + BN + ReLU, the regressor (`ConvReg`) of
#   RepDistiller and mdistiller that produced the published CIFAR-100
#   numbers; the CIFAR-100 configs use it.
# A method config uses one as `model = dict(distiller=_base_.fitnets)`;
# change a run's distiller through `model.distiller`.
fitnets = dict(
    student_recorders=dict(hint=dict(type='StageOutputs', stage=1)),
    teacher_recorders=dict(hint=dict(type='StageOutputs', stage=1)),
    connectors=dict(
        hint=dict(
            type='ConvModuleConnector', norm_cfg=dict(type='BN'),
            act_cfg=None)),
    distill_losses=dict(
        loss_hint=dict(type='FeatureMSELoss', loss_weight=100.0)),
    loss_forward_mappings=dict(
        loss_hint=dict(
            s_feature=dict(
                from_student=True, recorder='hint', connector='hint'),
            t_feature=dict(from_student=False, recorder='hint'))))
fitnets_convreg = dict(
    fitnets,
    connectors=dict(
        hint=dict(
            type='ConvModuleConnector', norm_cfg=dict(type='BN'),
            act_cfg=dict(type='ReLU'))))
