"""``--cfg-options KEY=VALUE``: parsed as mmengine's ``DictAction`` does,
but checked against the config before anything runs.

mmengine merges any key, so a typo (``randomnes.seed=0``) silently adds a
setting nobody reads, and a value of the wrong kind fails deep inside a
build, or not at all. Here every key must already exist in the config (a
dict key, or a list index as in ``param_scheduler.0.milestones``), or be a
top-level argument of mmengine's ``Runner`` (``work_dir``, ``load_from``,
...). A genuinely new key is written with a leading ``+``
(``+optim_wrapper.clip_grad.max_norm=5``). The value must be of the kind the
config holds there (a number for a number, a string for a string, a list for
a list; ``None`` replaces and is replaced by anything).

Values keep their spaces (mmengine's parser deletes them, turning
``data_root=my data`` into ``mydata``) and a quoted value is taken as one
string, so a path with a comma is written ``data_root="a,b"``.
"""
import argparse
import difflib
import inspect
from numbers import Number
from typing import Any, Dict, List, Sequence, Union

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

NEW_KEY_PREFIX = '+'
# Top-level keys Runner.from_cfg passes on: valid even when a config leaves
# them unset.
RUNNER_ARGUMENTS = frozenset(
    inspect.signature(Runner.__init__).parameters) - {'self'}


class ConfigOptionAction(DictAction):
    """``DictAction`` that keeps spaces, takes a quoted value as one string
    and rejects an option without ``=`` with a usage error."""

    @staticmethod
    def _parse_iterable(val: str) -> Any:
        if len(val) >= 2 and val[0] == val[-1] and val[0] in '\'"':
            return val[1:-1]
        if not val.startswith(('[', '(')) and ',' not in val:
            return DictAction._parse_int_float_bool(val)
        return DictAction._parse_iterable(val)

    def __call__(self, parser: argparse.ArgumentParser,
                 namespace: argparse.Namespace, values: Sequence[str],
                 option_string: str = None) -> None:
        for item in values:
            if '=' not in item:
                parser.error(f'{option_string} {item!r}: write KEY=VALUE, '
                             'e.g. train_cfg.max_epochs=2')
        super().__call__(parser, namespace, values, option_string)


def _kind(value: Any) -> str:
    if isinstance(value, (Number, bool)):
        return 'number'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, (list, tuple)):
        return 'list'
    if isinstance(value, dict):
        return 'dict'
    return type(value).__name__


def _all_keys(node: Any, prefix: str = '') -> List[str]:
    """Every dotted key of a config, the inner ones included."""
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, (list, tuple)):
        items = enumerate(node)
    else:
        return []
    keys = []
    for name, child in items:
        key = f'{prefix}{name}'
        keys += [key, *_all_keys(child, key + '.')]
    return keys


def _unknown_key(cfg: Config, key: str):
    from .cli import UserError  # cli imports this module
    close = difflib.get_close_matches(key, _all_keys(cfg._cfg_dict), n=1)
    hint = f' (did you mean {close[0]!r}?)' if close else ''
    return UserError(
        f'--cfg-options {key!r}: the config has no such key{hint}. To add a '
        f'new key, write it as {NEW_KEY_PREFIX}{key}=VALUE.')


def _existing_value(cfg: Config, key: str) -> Any:
    """The config's value at dotted ``key``; a KeyError when it has none."""
    node: Union[dict, list, Any] = cfg._cfg_dict
    for part in key.split('.'):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and \
                int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(key)
    return node


def check_config_options(cfg: Config,
                         options: Dict[str, Any]) -> Dict[str, Any]:
    """The options as ``Config.merge_from_dict`` takes them (``+`` removed),
    each checked against ``cfg``.

    Raises:
        UserError: a key (without ``+``) the config does not have, naming the
            closest existing key; or a value of another kind than the
            config's.
    """
    from .cli import UserError  # cli imports this module
    checked = {}
    for key, value in options.items():
        if key.startswith(NEW_KEY_PREFIX):
            checked[key[len(NEW_KEY_PREFIX):]] = value
            continue
        top = key.split('.')[0]
        try:
            old = _existing_value(cfg, key)
        except KeyError:
            if top in RUNNER_ARGUMENTS and top not in cfg:
                checked[key] = value
                continue
            raise _unknown_key(cfg, key) from None
        if old is not None and value is not None and \
                _kind(old) != _kind(value):
            comma = (' A value with a comma is read as a list: quote it, '
                     f'e.g. {key}="a,b".'
                     if _kind(old) == 'string' and _kind(value) == 'list'
                     else '')
            raise UserError(
                f'--cfg-options {key}={value!r}: the config holds a '
                f'{_kind(old)} there ({old!r}), not a {_kind(value)}.{comma}')
        checked[key] = value
    return checked


def apply_config_options(cfg: Config, options: Dict[str, Any]) -> None:
    """Check ``options`` (:func:`check_config_options`) and merge them into
    ``cfg`` (list indices allowed, as in mmengine's tools)."""
    cfg.merge_from_dict(check_config_options(cfg, options),
                        allow_list_keys=True)
