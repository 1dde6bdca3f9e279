# wrn_cifar10.py's classifier with 100 classes and CIFAR-100's
# normalisation; WRN-16-2 unless a config overrides `depth` and
# `widen_factor` (the head's width follows).
_base_ = ['./wrn_cifar10.py']
model = dict(
    data_preprocessor=dict(
        num_classes=100,
        # RGB mean/std of the CIFAR-100 training set in pixel units: the
        # (0.5071, 0.4867, 0.4408) / (0.2675, 0.2565, 0.2761) of RepDistiller
        # and mdistiller, times 255.
        mean=[129.3105, 124.1085, 112.404],
        std=[68.2125, 65.4075, 70.4055]),
    head=dict(
        num_classes=100,
        # The classifier starts as in RepDistiller's and mdistiller's CIFAR
        # WRN (models/wrn.py), whose published CIFAR-100 numbers these
        # configs reproduce: nn.Linear's own init, U(+-1/sqrt(fan_in))
        # (Kaiming uniform with a = sqrt(5)), and a zero bias; not
        # mmpretrain's N(0, 0.01), which the CIFAR-10 configs keep, as
        # MMRazor's.
        init_cfg=dict(
            type='Kaiming', layer='Linear', a=5**0.5, mode='fan_in',
            nonlinearity='leaky_relu', distribution='uniform', bias=0)))
