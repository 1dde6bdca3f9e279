# FitNets (Romero et al., ICLR 2015), WRN-40-2 -> WRN-16-2 on CIFAR-10: the
# student's stage-2 output passes a 1x1 conv + BN connector and is matched
# to the teacher's stage-2 output by MSE (weight 100) + CE (weight 1), the
# single-stage variant of mdistiller's CIFAR recipe.
_base_ = ['./wrn40-2_to_wrn16-2.py']
model = dict(
    architecture=dict(head=dict(loss=dict(loss_weight=1.0))),
    distiller=dict(
        _delete_=True,
        type='ConfigurableDistiller',
        student_recorders=dict(
            stage2=dict(type='ModuleOutputs', source='backbone.layer2')),
        teacher_recorders=dict(
            stage2=dict(type='ModuleOutputs', source='backbone.layer2')),
        connectors=dict(
            hint=dict(
                type='ConvModuleConnector',
                in_channel=64,
                out_channel=64,
                norm_cfg=dict(type='BN'),
                act_cfg=None)),
        distill_losses=dict(
            loss_hint=dict(type='FeatureMSELoss', loss_weight=100.0)),
        loss_forward_mappings=dict(
            loss_hint=dict(
                s_feature=dict(
                    from_student=True, recorder='stage2', connector='hint'),
                t_feature=dict(from_student=False, recorder='stage2')))))
