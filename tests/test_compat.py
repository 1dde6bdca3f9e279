"""``razor_wrn.compat`` lets mmrazor 1.0.0 import on this torch, with torch's
own fuser semantics and without replacing what torch already provides."""
import razor_wrn  # noqa: F401  (compat shim before any mmrazor import)
import torch.ao.quantization.fuser_method_mappings as fuser_mappings
from torch import nn
from torch.ao.quantization.backend_config import (BackendConfig,
                                                  BackendPatternConfig)

from razor_wrn import compat

SETTERS = ('_set_overwrite_output_fake_quantize',
           '_set_overwrite_output_observer', '_set_input_output_observed')


def test_mmrazor_models_import_the_real_classes():
    import mmrazor.models
    from mmrazor.models import (ConfigurableDistiller, OFDDistiller,
                                SingleTeacherDistill)
    from mmrazor.models.algorithms import BaseAlgorithm

    assert mmrazor.models.SingleTeacherDistill is SingleTeacherDistill
    # mmrazor swaps a name whose import failed for a placeholder; these are
    # the real classes, with the real hierarchy.
    assert issubclass(SingleTeacherDistill, BaseAlgorithm)
    assert issubclass(OFDDistiller, ConfigurableDistiller)
    assert SingleTeacherDistill.__module__ == (
        'mmrazor.models.algorithms.distill.configurable.'
        'single_teacher_distill')


def test_mmrazor_built_its_backend_config_table_with_the_shim():
    from mmrazor.structures.quantization import BackendConfigs
    from mmrazor.structures.quantization.backend_config import \
        common_operator_config_utils as mmrazor_utils

    assert sorted(BackendConfigs) == [
        'academic', 'native', 'openvino', 'tensorrt'
    ]
    assert all(
        isinstance(config, BackendConfig)
        for config in BackendConfigs.values())
    # mmrazor imported the restored functions, not its placeholders.
    assert mmrazor_utils.reverse_sequential_wrapper2 is \
        compat._reverse_sequential_wrapper2
    assert mmrazor_utils.reverse2 is fuser_mappings._reverse2


def test_reverse2_and_reverse3_are_torchs_private_functions():
    assert fuser_mappings.reverse2 is fuser_mappings._reverse2
    assert fuser_mappings.reverse3 is fuser_mappings._reverse3

    def record(is_qat, *modules):
        return (is_qat, ) + modules

    assert fuser_mappings.reverse2(record)(True, 'a', 'b') == (True, 'b', 'a')
    assert fuser_mappings.reverse3(record)(False, 'a', ('b', 'c')) == (
        False, 'c', 'b', 'a')


def test_reverse_sequential_wrapper2_builds_sequential_of_m2_then_m1():
    conv, relu = nn.Conv2d(1, 1, 1), nn.ReLU()
    wrapper = fuser_mappings.reverse_sequential_wrapper2
    fused = wrapper(nn.Sequential)(False, relu, conv)

    assert isinstance(fused, nn.Sequential)
    assert list(fused) == [conv, relu]
    assert wrapper(lambda *m: m)(True, 'm1', 'm2') == ('m2', 'm1')


def test_backend_pattern_config_setters_set_the_attribute_and_chain():
    config = BackendPatternConfig(nn.Conv2d)
    for setter in SETTERS:
        value = object()
        assert getattr(config, setter)(value) is config
        assert getattr(config, setter[len('_set'):]) is value


def test_apply_restores_missing_names_and_is_idempotent(monkeypatch):
    restored = {
        name: getattr(fuser_mappings, name)
        for name in ('reverse2', 'reverse3', 'reverse_sequential_wrapper2')
    }
    setters = {name: getattr(BackendPatternConfig, name) for name in SETTERS}

    compat.apply()
    compat.apply()
    assert {name: getattr(fuser_mappings, name)
            for name in restored} == restored
    assert {name: getattr(BackendPatternConfig, name)
            for name in SETTERS} == setters

    # A name torch (or an earlier call) lost is restored by the next call.
    monkeypatch.delattr(fuser_mappings, 'reverse_sequential_wrapper2')
    monkeypatch.delattr(fuser_mappings, 'reverse3')
    monkeypatch.delattr(BackendPatternConfig, '_set_input_output_observed')
    compat.apply()
    assert fuser_mappings.reverse_sequential_wrapper2 is \
        compat._reverse_sequential_wrapper2
    assert fuser_mappings.reverse3 is fuser_mappings._reverse3
    config = BackendPatternConfig(nn.Conv2d)
    assert config._set_input_output_observed(False) is config
    assert config._input_output_observed is False


def test_apply_keeps_names_torch_already_provides(monkeypatch):
    def torch_own(*args):
        return 'torch'

    monkeypatch.setattr(
        fuser_mappings, 'reverse_sequential_wrapper2', torch_own,
        raising=False)
    monkeypatch.setattr(
        BackendPatternConfig, '_set_input_output_observed', torch_own,
        raising=False)
    compat.apply()
    assert fuser_mappings.reverse_sequential_wrapper2 is torch_own
    assert BackendPatternConfig._set_input_output_observed is torch_own
