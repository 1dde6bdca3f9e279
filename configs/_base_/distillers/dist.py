# DIST (Huang et al., NeurIPS 2022): the inter- and intra-class Pearson
# correlation of softmax(logits / 4), each weighted 2 (beta = gamma = 2,
# T = 4, the paper's CIFAR-100 setting; mmrazor's ImageNet config uses 1, 1,
# T = 1 and weight 2). A method config uses it as
# `model = dict(distiller=_base_.dist)`; change a run's distiller through
# `model.distiller`.
dist = dict(
    student_recorders=dict(
        logits=dict(type='ModuleOutputs', source='head.fc')),
    teacher_recorders=dict(
        logits=dict(type='ModuleOutputs', source='head.fc')),
    distill_losses=dict(
        loss_dist=dict(
            type='DISTKDLoss', beta=2.0, gamma=2.0, temperature=4.0)),
    loss_forward_mappings=dict(
        loss_dist=dict(
            preds_S=dict(from_student=True, recorder='logits'),
            preds_T=dict(from_student=False, recorder='logits'))))
