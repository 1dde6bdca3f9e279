# CRD (Tian et al., ICLR 2020): the pooled features of both networks pass
# linear + L2-norm heads to 128 dimensions and are contrasted with 16,384
# negatives from per-network memory banks (temperature 0.07, momentum 0.5),
# weight 0.8, as in RepDistiller's CIFAR recipe. The negatives are images of
# other classes drawn without replacement (RepDistiller's 'exact' mode, as
# published, and the default of MMRazor's CRD datasets); `crd_training_set`
# gives the loss the training images' classes before training. The banks
# hold one row per training image (num_samples: 50,000 for CIFAR-10 and
# CIFAR-100; the hook stops a run whose training set has another size) and
# are saved in every checkpoint. A method config uses it as
# `model = dict(distiller=_base_.crd)` and
# `default_hooks = dict(crd_training_set=_base_.crd_training_set)`; change a
# run's distiller through `model.distiller`.
crd = dict(
    student_recorders=dict(
        pooled=dict(type='ModuleOutputs', source='neck.gap'),
        # The student is called as (inputs, data_samples): the samples carry
        # each image's `sample_idx`.
        inputs=dict(type='ModuleInputs', source='')),
    teacher_recorders=dict(
        pooled=dict(type='ModuleOutputs', source='neck.gap')),
    connectors=dict(
        # dim_in: the pooled last stage's channels of each model.
        embed_s=dict(type='CRDConnector', dim_out=128),
        embed_t=dict(type='CRDConnector', dim_out=128)),
    distill_losses=dict(
        loss_crd=dict(
            type='ContrastiveRepresentationLoss',
            num_samples=50000,
            embed_dim=128,
            num_negatives=16384,
            temperature=0.07,
            momentum=0.5,
            loss_weight=0.8)),
    loss_forward_mappings=dict(
        loss_crd=dict(
            s_feats=dict(
                from_student=True, recorder='pooled', connector='embed_s'),
            t_feats=dict(
                from_student=False, recorder='pooled', connector='embed_t'),
            data_samples=dict(
                from_student=True, recorder='inputs', data_idx=1))))
crd_training_set = dict(type='CRDTrainingSetHook')
