"""A config's text formatted once per process, not at every checkpoint.

mmengine formats a config's text with yapf (``Config.pretty_text``) each
time it logs or dumps the config and again in every checkpoint's meta: six
times in a one-epoch run, 0.05 s to 0.45 s each on a CPU core (a
distillation config is the slow end). With a checkpoint every epoch, plus
one for each new best top-1, that is up to a second of host time per epoch,
minutes over 200 epochs. The text to format is the same each time, and yapf
gives the same output for the same input and style: :func:`format_code`
remembers its latest results.
"""
import functools
from typing import Any, Tuple

import mmengine.config.config as mmengine_config

# yapf's formatter, as mmengine imported it.
yapf_format_code = mmengine_config.FormatCode


@functools.lru_cache(maxsize=16)
def _format_style_items(text: str, style_items: Tuple[Tuple[str, Any],
                                                      ...]) -> tuple:
    return yapf_format_code(text, style_config=dict(style_items))


def format_code(text: str, style_config: Any = None, **kwargs) -> tuple:
    """yapf's ``FormatCode(text, style_config)`` (``(formatted text,
    changed)``), computed once per distinct text and style dict of
    hashable values; any other call goes to yapf as it is."""
    if kwargs or not isinstance(style_config, dict):
        return yapf_format_code(text, style_config=style_config, **kwargs)
    try:
        return _format_style_items(text, tuple(sorted(style_config.items())))
    except TypeError:  # an unhashable style value
        return yapf_format_code(text, style_config=style_config)


def format_config_text_once() -> None:
    """Make mmengine's ``Config.pretty_text`` use :func:`format_code`."""
    mmengine_config.FormatCode = format_code
