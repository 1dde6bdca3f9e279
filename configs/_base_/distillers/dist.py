# DIST (Huang et al., NeurIPS 2022): the inter- and intra-class Pearson
# correlation of softmax(logits / 4), each weighted 2: the authors' CIFAR-100
# recipe (image_classification_sota configs/strategies/distill/
# dist_cifar.yaml: kd dist_t4, kd_loss_weight 2, ori_loss_weight 1) is
# DIST(beta=1, gamma=1, tau=4) x 2, i.e. beta = gamma = 2 at T = 4 here;
# mmrazor's ImageNet config uses 1, 1, T = 1 and weight 2. A method config uses it as
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
# The student's classifier starts as the authors' CIFAR WRN's (RepDistiller
# models/wrn.py: nn.Linear's own U(+-1/sqrt(fan_in)), zero bias), not
# mmpretrain's N(0, 0.01); the CIFAR-10 DIST config sets it with
# `architecture=dict(head=_base_.dist_student_head)` (every CIFAR-100
# classifier starts so: _base_/models/wrn_cifar100.py). The correlation
# ignores the logits' scale, so its gradient grows as 1 / their spread: from
# N(0, 0.01) logits the first step's DIST gradient on the classifier was
# ~800x CE's, the logits jumped to a std of ~60 and CE stayed above 10.
dist_student_head = dict(
    init_cfg=dict(
        type='Kaiming', layer='Linear', a=5**0.5, mode='fan_in',
        nonlinearity='leaky_relu', distribution='uniform', bias=0))
