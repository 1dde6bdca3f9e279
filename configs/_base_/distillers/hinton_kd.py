# Hinton KD (Hinton et al. 2015): 0.9 * T^2 KL(teacher || student) at T=4,
# the weight of mdistiller's and RepDistiller's CIFAR KD recipe, whose CE
# weight is 0.1 (set it with the model: architecture.head.loss).
# A method config uses it as `model = dict(distiller=_base_.hinton_kd)`;
# change a run's distiller through `model.distiller`.
hinton_kd = dict(
    student_recorders=dict(
        logits=dict(type='ModuleOutputs', source='head.fc')),
    teacher_recorders=dict(
        logits=dict(type='ModuleOutputs', source='head.fc')),
    distill_losses=dict(
        loss_kd=dict(type='HintonKDLoss', temperature=4.0, loss_weight=0.9)),
    loss_forward_mappings=dict(
        loss_kd=dict(
            preds_S=dict(from_student=True, recorder='logits'),
            preds_T=dict(from_student=False, recorder='logits'))))
