"""razor_wrn: distillation of Wide Residual Networks on the OpenMMLab stack.

Importing the package applies the torch/mmrazor compat shim, makes every
checkpoint load safe (``razor_wrn.checkpoint``), has mmengine format a
config's text once (``razor_wrn.config_text``), silences mmcv-lite's
warning about an op it lacks and registers the package's modules in the
mmpretrain, mmrazor and mmengine registries.
"""
import warnings  # isort:skip

# Third-party warnings every tool would print and nothing here can act on:
# mmcv-lite has no compiled ops, so importing mmcv's transformer bricks (as
# mmpretrain and mmrazor do) warns that MultiScaleDeformableAttention, which
# razor_wrn never uses, is missing.
KNOWN_WARNINGS = ('Fail to import ``MultiScaleDeformableAttention``', )


def hide_known_warnings() -> None:
    """Ignore :data:`KNOWN_WARNINGS` (done when the package is imported,
    before mmcv is)."""
    for message in KNOWN_WARNINGS:
        warnings.filterwarnings('ignore', message=message)


hide_known_warnings()

# A warning of razor_wrn's own says all in its message; Python's default
# format adds the source line of the warn() call ("  warnings.warn("), a
# second console line that tells a user nothing.
_format_warning = warnings.formatwarning


def format_own_warnings(message, category, filename, lineno, line=None):
    """``warnings.formatwarning`` that prints a warning raised inside
    razor_wrn as one line: ``file:line: Category: message``."""
    if __path__[0] in str(filename):
        return f'{filename}:{lineno}: {category.__name__}: {message}\n'
    return _format_warning(message, category, filename, lineno, line)


warnings.formatwarning = format_own_warnings

# The compat shim must run before anything imports mmrazor.
from . import compat  # noqa: F401,E402  isort:skip
from .checkpoint import use_safe_checkpoint_loaders  # noqa: E402 isort:skip

use_safe_checkpoint_loaders()

from .config_text import format_config_text_once  # noqa: E402 isort:skip

format_config_text_once()

from . import (datasets, engine, models, resume,  # noqa: E402,F401
               teacher_bank)

__version__ = '0.1.0'
