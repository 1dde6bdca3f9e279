# Decoupled KD (Zhao et al., CVPR 2022), WRN-40-2 -> WRN-16-2 on CIFAR-10:
# TCKD + 8 * NCKD at T=4 (the paper's CIFAR setting) + CE (weight 1). The
# DKD loss ramps up linearly over the first 20 epochs, as in the paper.
_base_ = ['./wrn40-2_to_wrn16-2.py']
model = dict(
    architecture=dict(head=dict(loss=dict(loss_weight=1.0))),
    distiller=dict(
        _delete_=True,
        type='ConfigurableDistiller',
        student_recorders=dict(
            logits=dict(type='ModuleOutputs', source='head.fc'),
            # The head's loss module is called as (cls_score, gt_labels).
            loss_inputs=dict(
                type='ModuleInputs', source='head.loss_module')),
        teacher_recorders=dict(
            logits=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=dict(
            loss_dkd=dict(
                type='DecoupledKDLoss',
                alpha=1.0,
                beta=8.0,
                temperature=4.0,
                loss_weight=1.0)),
        loss_forward_mappings=dict(
            loss_dkd=dict(
                preds_S=dict(from_student=True, recorder='logits'),
                preds_T=dict(from_student=False, recorder='logits'),
                gt_labels=dict(
                    from_student=True, recorder='loss_inputs',
                    data_idx=1)))))
custom_hooks = [
    dict(type='NaNLossHook'),
    dict(type='SyncNormStatsHook'),
    dict(type='DistillLossWarmupHook', loss_names=['loss_dkd'],
         warmup_epochs=20),
]
