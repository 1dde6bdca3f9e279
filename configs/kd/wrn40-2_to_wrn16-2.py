# Hinton KD (Hinton et al. 2015), WRN-40-2 -> WRN-16-2 on CIFAR-10:
# 0.9 * T^2 KL(teacher || student) at T=4 + 0.1 * CE, the weights of
# mdistiller's and RepDistiller's CIFAR KD recipe; otherwise the vanilla
# reference recipe (8 GPUs x 16, 200 epochs).
_base_ = [
    '../_base_/models/kd_wrn40-2_to_wrn16-2.py',
    '../_base_/datasets/cifar10_bs16.py',
    '../_base_/kd_runtime.py',
]
model = dict(
    architecture=dict(head=dict(loss=dict(loss_weight=0.1))),
    distiller=dict(
        student_recorders=dict(
            logits=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(
            logits=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=dict(
            loss_kd=dict(type='HintonKDLoss', temperature=4.0,
                         loss_weight=0.9)),
        loss_forward_mappings=dict(
            loss_kd=dict(
                preds_S=dict(from_student=True, recorder='logits'),
                preds_T=dict(from_student=False, recorder='logits')))))
