# Overhaul of feature distillation (Heo et al., ICCV 2019), as MMRazor's OFD
# config: the pre-ReLU BN outputs of the three stages (the BN at the start of
# stages 2 and 3, and the final BN); student features through 1x1 conv + BN
# connectors (channels follow the models), teacher features clamped below by
# margins computed from the teacher's BN; partial L2 with weights 0.25 / 0.5
# / 1 for stages 0 / 1 / 2. A method config uses it as
# `model = dict(distiller=_base_.ofd)`; change a run's distiller through
# `model.distiller`.
ofd = dict(
    type='OFDDistiller',
    student_recorders={
        f'bn{s + 1}': dict(type='StageOutputs', stage=s, pre_relu=True)
        for s in range(3)
    },
    teacher_recorders={
        f'bn{s + 1}': dict(type='StageOutputs', stage=s, pre_relu=True)
        for s in range(3)
    },
    connectors={
        **{
            f'bn{s + 1}_student': dict(
                type='ConvModuleConnector', norm_cfg=dict(type='BN'),
                act_cfg=None)
            for s in range(3)
        },
        **{f'bn{s + 1}_teacher': dict(type='OFDTeacherConnector')
           for s in range(3)},
    },
    distill_losses={
        f'loss_ofd_bn{s + 1}': dict(type='OFDPartialL2Loss', loss_weight=w)
        for s, w in enumerate((0.25, 0.5, 1.0))
    },
    loss_forward_mappings={
        f'loss_ofd_bn{s + 1}': dict(
            s_feature=dict(
                from_student=True, recorder=f'bn{s + 1}',
                connector=f'bn{s + 1}_student'),
            t_feature=dict(
                from_student=False, recorder=f'bn{s + 1}',
                connector=f'bn{s + 1}_teacher'))
        for s in range(3)
    })
