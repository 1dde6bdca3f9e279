"""A config's text is formatted by yapf once per distinct text: the same
text as mmengine's own formatting, and a changed config is formatted anew.
"""
import pytest

import razor_wrn  # noqa: F401  (compat shim before anything mmrazor)
import mmengine.config.config as mmengine_config  # noqa: I100
from mmengine.config import Config
from razor_wrn import config_text

VANILLA = 'configs/vanilla/wrn16-w2_b128x1_cifar10.py'


@pytest.fixture
def yapf_calls(monkeypatch: pytest.MonkeyPatch) -> list:
    """The texts yapf formats; mmengine formats through razor_wrn's
    :func:`~razor_wrn.config_text.format_code` (the suite's conftest skips
    formatting altogether), from an empty memory."""
    calls, yapf = [], config_text.yapf_format_code

    def counted(text, **kwargs):
        calls.append(text)
        return yapf(text, **kwargs)

    monkeypatch.setattr(config_text, 'yapf_format_code', counted)
    monkeypatch.setattr(mmengine_config, 'FormatCode', config_text.format_code)
    config_text._format_style_items.cache_clear()
    yield calls
    config_text._format_style_items.cache_clear()


def test_the_same_text_is_formatted_once(yapf_calls):
    cfg = Config.fromfile(VANILLA)
    first, second = cfg.pretty_text, Config.fromfile(VANILLA).pretty_text
    assert first == second and len(yapf_calls) == 1
    # What mmengine gives with yapf itself.
    mmengine_config.FormatCode = config_text.yapf_format_code
    assert cfg.pretty_text == first and len(yapf_calls) == 2
    # Formatted: not the text mmengine hands to yapf.
    mmengine_config.FormatCode = lambda text, **kwargs: (text, False)
    assert cfg.pretty_text != first


def test_a_changed_config_is_formatted_again(yapf_calls):
    cfg = Config.fromfile(VANILLA)
    before = cfg.pretty_text
    cfg.train_cfg.max_epochs = 3
    after = cfg.pretty_text
    assert len(yapf_calls) == 2 and before != after
    assert 'max_epochs=3' in after
