"""razor_wrn: distillation of Wide Residual Networks on the OpenMMLab stack.

Importing the package applies the torch/mmrazor compat shim, makes every
checkpoint load safe (``razor_wrn.checkpoint``), silences mmcv-lite's
warning about an op it lacks and registers the package's modules in the
mmpretrain, mmrazor and mmengine registries.
"""
import warnings  # isort:skip

# mmcv-lite has no compiled ops, so importing mmcv's transformer bricks (as
# mmpretrain and mmrazor do) warns that MultiScaleDeformableAttention is
# missing, in every tool; nothing here uses it.
warnings.filterwarnings(
    'ignore', message='Fail to import ``MultiScaleDeformableAttention``')

# The compat shim must run before anything imports mmrazor.
from . import compat  # noqa: F401,E402  isort:skip
from .checkpoint import use_safe_checkpoint_loaders  # noqa: E402 isort:skip

use_safe_checkpoint_loaders()

from . import datasets, engine, models  # noqa: E402,F401

__version__ = '0.1.0'
