# Attention transfer (Zagoruyko & Komodakis, ICLR 2017), WRN-40-2 ->
# WRN-16-2 on CIFAR-10: squared-activation attention maps of the three
# stage outputs, beta = 1000 per stage as in the paper, + CE (weight 1).
_base_ = [
    '../_base_/models/kd_wrn40-2_to_wrn16-2.py',
    '../_base_/datasets/cifar10_bs16.py',
    '../_base_/kd_runtime.py',
]
stages = (0, 1, 2)
model = dict(
    distiller=dict(
        student_recorders={
            f'stage{s}': dict(type='StageOutputs', stage=s)
            for s in stages
        },
        teacher_recorders={
            f'stage{s}': dict(type='StageOutputs', stage=s)
            for s in stages
        },
        distill_losses={
            f'loss_at_layer{s + 1}': dict(type='AttentionTransferLoss',
                                         loss_weight=1000.0)
            for s in stages
        },
        loss_forward_mappings={
            f'loss_at_layer{s + 1}': dict(
                s_feature=dict(from_student=True, recorder=f'stage{s}'),
                t_feature=dict(from_student=False, recorder=f'stage{s}'))
            for s in stages
        }))
