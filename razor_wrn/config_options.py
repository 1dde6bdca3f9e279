"""``--cfg-options KEY=VALUE``: parsed as mmengine's ``DictAction`` does,
but checked against the config before anything runs.

mmengine merges any key, so a typo (``randomnes.seed=0``) silently adds a
setting nobody reads, and a value of the wrong kind fails deep inside a
build, or not at all. Here a key must

- exist in the config (a dict key, or a list index as in
  ``param_scheduler.0.milestones``), or
- be a top-level argument of mmengine's ``Runner`` (``work_dir``, ...), or
- lie under a setting that is None (``auto_scale_lr.base_batch_size=128``
  where ``auto_scale_lr = None``): the None becomes a dict, or
- be an argument of the class a ``type=...`` dict builds, when that class
  can be found in the registries (``model.head.loss.avg_non_ignore``); when
  it cannot (``DeviceCIFAR10Loader``), any argument not resembling an
  existing one.

Anything else, a genuinely new key, is written with a leading ``+``
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
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from mmengine import registry
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
    close = []
    parent = _typed_parent(cfg, key)
    if parent is not None:
        # A near miss of an argument of the class being built (`sav_last`).
        prefix, name = key.rsplit('.', 1)
        close = [f'{prefix}.{match}' for match in difflib.get_close_matches(
            name, _argument_names(*parent)[0], n=1, cutoff=0.8)]
    close = close or difflib.get_close_matches(key, _all_keys(cfg._cfg_dict),
                                               n=1)
    hint = f' (did you mean {close[0]!r}?)' if close else ''
    return UserError(
        f'--cfg-options {key!r}: the config has no such key{hint}. To add a '
        f'new key, write it as {NEW_KEY_PREFIX}{key}=VALUE.')


def _registered_classes(kind: Any, scopes: List[str]) -> list:
    if isinstance(kind, type):
        return [kind]
    if not isinstance(kind, str):
        return []
    found = []
    for candidate in vars(registry).values():
        if isinstance(candidate, registry.Registry):
            for name in [f'{scope}.{kind}' for scope in scopes] + [kind]:
                if candidate.get(name) is not None:
                    found.append(candidate.get(name))
                    break
    return found


def _argument_names(node: dict, scopes: List[str]) -> Tuple[set, bool]:
    """The named arguments of the classes ``node['type']`` may name, and
    whether one of them takes ``**kwargs``; (empty, True) when no class is
    found in mmengine's registries (nothing known about its arguments)."""
    classes = _registered_classes(node.get('type'), scopes)
    if not classes:
        return set(), True
    named, var_keyword = set(), False
    for cls in classes:
        for base in getattr(cls, '__mro__', [cls]):
            if base is object:
                break
            try:
                parameters = inspect.signature(base).parameters.values()
            except (TypeError, ValueError):  # no signature to read
                continue
            named |= {p.name for p in parameters
                      if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
            var_keyword |= any(p.kind == p.VAR_KEYWORD for p in parameters)
    return named - {'self'}, var_keyword


# What _child returns for a key or index a node does not have.
_ABSENT = object()


def _child(node: Any, part: str) -> Any:
    """``node[part]`` for a dict key or a list index (``'0'``), else
    ``_ABSENT``."""
    if isinstance(node, dict) and part in node:
        return node[part]
    if isinstance(node, (list, tuple)) and part.isdigit() and \
            int(part) < len(node):
        return node[int(part)]
    return _ABSENT


def _typed_parent(cfg: Config, key: str) -> Optional[Tuple[dict, list]]:
    """The ``type=...`` dict holding ``key`` and the registry scopes in
    force there, or None when the parent of ``key`` is no such dict."""
    *path, _ = key.split('.')
    scopes = [cfg.get('default_scope')] if cfg.get('default_scope') else []
    node: Any = cfg._cfg_dict
    for part in path:
        node = _child(node, part)
        if node is _ABSENT:
            return None
        if isinstance(node, dict) and node.get('_scope_'):
            scopes.insert(0, node['_scope_'])
    if not isinstance(node, dict) or 'type' not in node:
        return None
    return node, scopes


def _may_add(cfg: Config, key: str) -> bool:
    """Whether ``key``, absent from ``cfg``, is an argument of the class the
    ``type=...`` dict holding it builds.

    A class taking ``**kwargs`` (mmengine's CheckpointHook passes them on to
    the first save), or one not in the registries, takes any name that does
    not resemble one of its named arguments or of the dict's keys:
    ``sav_last`` is a typo of ``save_last``."""
    parent = _typed_parent(cfg, key)
    if parent is None:
        return False
    name = key.rsplit('.', 1)[-1]
    named, var_keyword = _argument_names(*parent)
    return name in named or (var_keyword and not difflib.get_close_matches(
        name, [*named, *map(str, parent[0])]))


def _none_on_the_way(cfg: Config, key: str) -> Optional[List[str]]:
    """The path of the first None met above the end of ``key``, if any."""
    node: Any = cfg._cfg_dict
    parts = key.split('.')
    for depth, part in enumerate(parts[:-1]):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
        if node is None:
            return parts[:depth + 1]
    return None


def _existing_value(cfg: Config, key: str) -> Any:
    """The config's value at dotted ``key``; a KeyError when it has none."""
    node: Union[dict, list, Any] = cfg._cfg_dict
    for part in key.split('.'):
        node = _child(node, part)
        if node is _ABSENT:
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
            if (top in RUNNER_ARGUMENTS and top not in cfg) or _may_add(
                    cfg, key) or _none_on_the_way(cfg, key):
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
    checked = check_config_options(cfg, options)
    for key in checked:
        path = _none_on_the_way(cfg, key)
        if path:
            # mmengine refuses to merge a dict into None.
            parent = cfg._cfg_dict
            for part in path[:-1]:
                parent = parent[part]
            parent[path[-1]] = {}
    cfg.merge_from_dict(checked, allow_list_keys=True)
