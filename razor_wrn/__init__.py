"""razor_wrn: distillation of Wide Residual Networks on the OpenMMLab stack."""
# The compat shim must run before anything imports mmrazor.
from . import compat  # noqa: F401  isort:skip

__version__ = '0.1.0'
