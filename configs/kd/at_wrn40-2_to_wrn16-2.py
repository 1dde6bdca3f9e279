# Attention transfer (Zagoruyko & Komodakis, ICLR 2017), WRN-40-2 ->
# WRN-16-2 on CIFAR-10: squared-activation attention maps of the three
# stage outputs, beta = 1000 per stage as in the paper, + CE (weight 1).
_base_ = ['./wrn40-2_to_wrn16-2.py']
stages = ('layer1', 'layer2', 'layer3')
model = dict(
    architecture=dict(head=dict(loss=dict(loss_weight=1.0))),
    distiller=dict(
        _delete_=True,
        type='ConfigurableDistiller',
        student_recorders={
            s: dict(type='ModuleOutputs', source=f'backbone.{s}')
            for s in stages
        },
        teacher_recorders={
            s: dict(type='ModuleOutputs', source=f'backbone.{s}')
            for s in stages
        },
        distill_losses={
            f'loss_at_{s}': dict(type='AttentionTransferLoss',
                                 loss_weight=1000.0)
            for s in stages
        },
        loss_forward_mappings={
            f'loss_at_{s}': dict(
                s_feature=dict(from_student=True, recorder=s),
                t_feature=dict(from_student=False, recorder=s))
            for s in stages
        }))
