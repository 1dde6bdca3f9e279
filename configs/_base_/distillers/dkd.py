# Decoupled KD (Zhao et al., CVPR 2022): TCKD + 8 * NCKD at T=4, the paper's
# CIFAR setting; the method configs ramp it up over the first 20 epochs
# (default_hooks.dkd_warmup), as the paper does. A method config uses it as
# `model = dict(distiller=_base_.dkd)`; change a run's distiller through
# `model.distiller`.
dkd = dict(
    student_recorders=dict(
        logits=dict(type='ModuleOutputs', source='head.fc'),
        # The head's loss module is called as (cls_score, gt_labels).
        loss_inputs=dict(type='ModuleInputs', source='head.loss_module')),
    teacher_recorders=dict(
        logits=dict(type='ModuleOutputs', source='head.fc')),
    distill_losses=dict(
        loss_dkd=dict(
            type='DecoupledKDLoss', alpha=1.0, beta=8.0, temperature=4.0,
            loss_weight=1.0)),
    loss_forward_mappings=dict(
        loss_dkd=dict(
            preds_S=dict(from_student=True, recorder='logits'),
            preds_T=dict(from_student=False, recorder='logits'),
            gt_labels=dict(
                from_student=True, recorder='loss_inputs', data_idx=1))))
dkd_warmup = dict(
    type='DistillLossWarmupHook', loss_names=['loss_dkd'], warmup_epochs=20)
