# Overhaul of feature distillation (Heo et al., ICCV 2019), WRN-28-4 ->
# WRN-16-2 on CIFAR-10, as MMRazor's OFD config (its only WRN distillation
# result, 94.21 top-1): the pre-ReLU BN outputs at the start of stages 2, 3
# and the final BN; student features through 1x1 conv + BN connectors,
# teacher features clamped below by margins computed from the teacher's BN;
# partial L2 with weights 0.25 / 0.5 / 1 + CE (weight 1).
_base_ = ['./wrn40-2_to_wrn16-2.py']
points = dict(
    # name: (recorded BN module, student channels, teacher channels)
    bn1=('backbone.layer2.0.bn1', 32, 64),
    bn2=('backbone.layer3.0.bn1', 64, 128),
    bn3=('backbone.bn1', 128, 256))
weights = dict(bn1=0.25, bn2=0.5, bn3=1.0)
model = dict(
    architecture=dict(head=dict(loss=dict(loss_weight=1.0))),
    teacher=dict(
        backbone=dict(type='WideResNet', depth=28, widen_factor=4),
        head=dict(in_channels=256)),
    teacher_ckpt=_base_.wrn28_4_teacher_ckpt,
    distiller=dict(
        _delete_=True,
        type='OFDDistiller',
        student_recorders={
            k: dict(type='ModuleOutputs', source=v[0])
            for k, v in points.items()
        },
        teacher_recorders={
            k: dict(type='ModuleOutputs', source=v[0])
            for k, v in points.items()
        },
        connectors={
            **{
                f'{k}_student': dict(
                    type='ConvModuleConnector',
                    in_channel=v[1],
                    out_channel=v[2],
                    norm_cfg=dict(type='BN'),
                    act_cfg=None)
                for k, v in points.items()
            },
            **{f'{k}_teacher': dict(type='OFDTeacherConnector')
               for k in points},
        },
        distill_losses={
            f'loss_ofd_{k}': dict(type='OFDPartialL2Loss', loss_weight=w)
            for k, w in weights.items()
        },
        loss_forward_mappings={
            f'loss_ofd_{k}': dict(
                s_feature=dict(
                    from_student=True, recorder=k, connector=f'{k}_student'),
                t_feature=dict(
                    from_student=False, recorder=k,
                    connector=f'{k}_teacher'))
            for k in points
        }))
