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
    head=dict(num_classes=100))
