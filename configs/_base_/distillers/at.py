# Attention transfer (Zagoruyko & Komodakis, ICLR 2017): squared-activation
# attention maps of the three stage outputs, beta = 1000 per stage as in the
# paper. A method config uses it as `model = dict(distiller=_base_.at)`;
# change a run's distiller through `model.distiller`.
at = dict(
    student_recorders={
        f'stage{s}': dict(type='StageOutputs', stage=s)
        for s in range(3)
    },
    teacher_recorders={
        f'stage{s}': dict(type='StageOutputs', stage=s)
        for s in range(3)
    },
    distill_losses={
        f'loss_at_layer{s + 1}': dict(
            type='AttentionTransferLoss', loss_weight=1000.0)
        for s in range(3)
    },
    loss_forward_mappings={
        f'loss_at_layer{s + 1}': dict(
            s_feature=dict(from_student=True, recorder=f'stage{s}'),
            t_feature=dict(from_student=False, recorder=f'stage{s}'))
        for s in range(3)
    })
