"""razor_wrn: distillation of Wide Residual Networks on the OpenMMLab stack.

Importing the package applies the torch/mmrazor compat shim, makes every
checkpoint load safe (``razor_wrn.checkpoint``) and registers the package's
modules in the mmpretrain, mmrazor and mmengine registries.
"""
# The compat shim must run before anything imports mmrazor.
from . import compat  # noqa: F401  isort:skip
from .checkpoint import use_safe_checkpoint_loaders  # isort:skip

use_safe_checkpoint_loaders()

from . import datasets, engine, models  # noqa: E402,F401

__version__ = '0.1.0'
