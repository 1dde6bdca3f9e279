"""Compatibility shims that must run before ``mmrazor`` is imported.

mmrazor 1.0.0 imports ``reverse2``, ``reverse3`` and
``reverse_sequential_wrapper2`` from ``torch.ao.quantization.
fuser_method_mappings``. torch renamed the first two to private names and
dropped the third, so the import fails, mmrazor swaps every quantization name
for a placeholder, and ``import mmrazor.models`` then raises. Restoring the
three names (with torch's own semantics) is enough for mmrazor to import.

torch's ``BackendConfig`` also reaches ``backend_config.utils`` as an
attribute without importing it; mmrazor builds backend configs at import
time, so that submodule is imported here first, and the two setters torch
removed from ``BackendPatternConfig`` (``_set_overwrite_output_*``,
``_set_input_output_observed``) are
restored as plain attribute setters. razor_wrn never quantizes: these only let
mmrazor build its quantization tables at import time.
"""
import torch.ao.quantization.backend_config.utils  # noqa: F401
import torch.ao.quantization.fuser_method_mappings as _fuser_mappings
from torch.ao.quantization.backend_config import BackendPatternConfig


def _reverse_sequential_wrapper2(sequential):
    """Fuser method building ``sequential(m2, m1)`` (torch 1.13 semantics)."""

    def fuser_method(is_qat, m1, m2):
        return sequential(m2, m1)

    return fuser_method


def _attribute_setter(attribute: str):

    def setter(self, value):
        setattr(self, attribute, value)
        return self

    return setter


def apply() -> None:
    """Restore the fuser-mapping names mmrazor 1.0.0 imports (idempotent)."""
    restored = {
        'reverse2': getattr(_fuser_mappings, '_reverse2', None),
        'reverse3': getattr(_fuser_mappings, '_reverse3', None),
        'reverse_sequential_wrapper2': _reverse_sequential_wrapper2,
    }
    for name, value in restored.items():
        if value is not None and not hasattr(_fuser_mappings, name):
            setattr(_fuser_mappings, name, value)
    for attribute in ('_overwrite_output_fake_quantize',
                      '_overwrite_output_observer', '_input_output_observed'):
        name = '_set' + attribute
        if not hasattr(BackendPatternConfig, name):
            setattr(BackendPatternConfig, name, _attribute_setter(attribute))


apply()
