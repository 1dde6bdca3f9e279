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
a list; ``None`` replaces and is replaced by anything). ``KEY._delete_=True``
replaces the dict at ``KEY`` by the keys given with it, as ``_delete_=True``
does in a config file; a ``KEY.type=...`` among the options is then the
class the other keys of ``KEY`` are checked against.

After the merge, :func:`check_type_arguments` checks every ``type=...``
dict of the whole config against its class, so a key a config file or a
``+`` option gives a class that does not take it (an inherited ``momentum``
under ``type='Adam'``) stops the run before it starts.

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
from torch import nn

from .datasets.device_cifar import device_loader_class
from .errors import UserError

NEW_KEY_PREFIX = '+'
# mmengine's marker for a dict that replaces its base instead of merging.
DELETE_KEY = '_delete_'
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


# Names the field writes for an argument that razor_wrn's losses spell out
# (Hinton's and mdistiller's T or tau is the KD losses' temperature).
ARGUMENT_SYNONYMS = {'t': 'temperature', 'tau': 'temperature',
                     'temp': 'temperature'}


def _unknown_key(cfg: Config, key: str):
    close = []
    parent = _typed_parent(cfg, key)
    if parent is not None:
        # A near miss of an argument of the class being built (`sav_last`),
        # or another name of it (`tau` for `temperature`).
        prefix, name = key.rsplit('.', 1)
        named = _argument_names(*parent)[0]
        synonym = ARGUMENT_SYNONYMS.get(name.lower())
        close = [f'{prefix}.{synonym}'] if synonym in named else [
            f'{prefix}.{match}' for match in difflib.get_close_matches(
                name, named, n=1, cutoff=0.8)]
    close = close or difflib.get_close_matches(key, _all_keys(cfg._cfg_dict),
                                               n=1)
    hint = f' (did you mean {close[0]!r}?)' if close else ''
    return UserError(
        f'--cfg-options {key!r}: the config has no such key{hint}. To add a '
        f'new key, write it as {NEW_KEY_PREFIX}{key}=VALUE.')


# _registered_classes' answers by (type name, scopes). A miss in a registry
# makes mmengine try the name as a module path (file system lookups, ~1 ms),
# and a config has dozens of type=... dicts in every registry. A name
# registered after it was looked up stays unknown here, which only means
# that its arguments are not checked.
_CLASSES: Dict[Tuple[str, Tuple[str, ...]], list] = {}


def _registered_classes(kind: Any, scopes: List[str]) -> list:
    """The classes (or functions) ``kind`` names in mmengine's registries,
    searched in ``scopes`` first."""
    if isinstance(kind, type):
        return [kind]
    if not isinstance(kind, str):
        return []
    key = (kind, tuple(scopes))
    if key not in _CLASSES:
        # DeviceDataRunner's loaders live in a registry of their own.
        device_loader = device_loader_class(kind)
        found = [device_loader] if device_loader else []
        for candidate in vars(registry).values():
            if isinstance(candidate, registry.Registry):
                for name in [f'{scope}.{kind}' for scope in scopes] + [kind]:
                    if candidate.get(name) is not None:
                        found.append(candidate.get(name))
                        break
        _CLASSES[key] = found
    return _CLASSES[key]


def _own_arguments(function: Any) -> Optional[Tuple[set, bool]]:
    """The named arguments of ``function`` and whether it takes
    ``**kwargs``; None when it has no signature to read."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    return ({p.name for p in parameters if p.kind not in (
        p.VAR_KEYWORD, p.VAR_POSITIONAL)} - {'self'},
        any(p.kind == p.VAR_KEYWORD for p in parameters))


def _class_arguments(cls: Any) -> Tuple[set, bool]:
    """The keyword arguments a call of ``cls`` accepts by name, and whether
    it accepts any other keyword too.

    The ``__init__`` methods of the MRO are read in order while each passes
    ``**kwargs`` on; the first without ``**kwargs`` closes the list. So a
    loss module taking ``(temperature, loss_weight)`` is closed even though
    ``nn.Module.__init__`` takes ``**kwargs`` (it rejects any keyword), and
    ``CheckpointHook``, which keeps its ``**kwargs`` for the first save,
    stays open. ``object`` and ``nn.Module`` are never read: their
    ``*args, **kwargs`` accept nothing.
    """
    if not isinstance(cls, type):  # a registered function
        found = _own_arguments(cls)
        return found if found is not None else (set(), True)
    named, open_ = set(), False
    for base in cls.__mro__:
        if base in (object, nn.Module):
            break
        if '__init__' not in vars(base):
            continue
        found = _own_arguments(vars(base)['__init__'])
        if found is None:
            return named, True
        named |= found[0]
        open_ = found[1]
        if not open_:
            break
    return named, open_


def _argument_names(node: dict, scopes: List[str]) -> Tuple[set, bool]:
    """The named arguments of the classes ``node['type']`` may name, and
    whether one of them takes any other keyword (see
    :func:`_class_arguments`); (empty, True) when no class is found in
    mmengine's registries (nothing known about its arguments)."""
    classes = _registered_classes(node.get('type'), scopes)
    if not classes:
        return set(), True
    named, var_keyword = set(), False
    for cls in classes:
        arguments, open_ = _class_arguments(cls)
        named |= arguments
        var_keyword |= open_
    return named, var_keyword


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


def _typed_parent(cfg: Config, key: str,
                  new_types: Optional[Dict[str, Any]] = None
                  ) -> Optional[Tuple[dict, list]]:
    """The ``type=...`` dict holding ``key`` and the registry scopes in
    force there, or None when the parent of ``key`` is no such dict.
    ``new_types`` maps a dict's dotted path to the ``type`` the same
    options give it, which then stands for the config's."""
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
    if new_types and '.'.join(path) in new_types:
        node = dict(node, type=new_types['.'.join(path)])
    return node, scopes


def _may_add(cfg: Config, key: str,
             new_types: Optional[Dict[str, Any]] = None) -> bool:
    """Whether ``key``, absent from ``cfg``, is an argument of the class the
    ``type=...`` dict holding it builds.

    A class taking ``**kwargs`` (mmengine's CheckpointHook passes them on to
    the first save), or one not in the registries, takes any name that does
    not resemble one of its named arguments or of the dict's keys:
    ``sav_last`` is a typo of ``save_last``."""
    parent = _typed_parent(cfg, key, new_types)
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


def _existing_value(cfg: Config, key: str, default: Any = _ABSENT) -> Any:
    """The config's value at dotted ``key``; ``default`` or, without one, a
    KeyError when it has none."""
    node: Union[dict, list, Any] = cfg._cfg_dict
    for part in key.split('.'):
        node = _child(node, part)
        if node is _ABSENT:
            if default is not _ABSENT:
                return default
            raise KeyError(key)
    return node


def check_config_options(cfg: Config,
                         options: Dict[str, Any]) -> Dict[str, Any]:
    """The options as ``Config.merge_from_dict`` takes them (``+`` removed),
    each checked against ``cfg``.

    Raises:
        UserError: a key (without ``+``, and not ``KEY._delete_`` of an
            existing dict) the config does not have, naming the closest
            existing key; or a value of another kind than the config's.
    """
    # `optim_wrapper.optimizer.type=Adam betas=...`: Adam's arguments count.
    new_types = {key[:-len('.type')].lstrip(NEW_KEY_PREFIX): value
                 for key, value in options.items() if key.endswith('.type')}
    checked = {}
    for key, value in options.items():
        if key.startswith(NEW_KEY_PREFIX):
            checked[key[len(NEW_KEY_PREFIX):]] = value
            continue
        top = key.split('.')[0]
        if key.endswith('.' + DELETE_KEY) and isinstance(
                _existing_value(cfg, key.rsplit('.', 1)[0], None), dict):
            # mmengine's own way to replace a dict instead of merging into
            # it, as in a config file.
            checked[key] = value
            continue
        try:
            old = _existing_value(cfg, key)
        except KeyError:
            if (top in RUNNER_ARGUMENTS and top not in cfg) or _may_add(
                    cfg, key, new_types) or _none_on_the_way(cfg, key):
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


# Keys of a type=... dict that mmengine's builders take out before the class
# is called: registry scope, scheduler conversion, optimizer constructor.
# DeviceDataRunner takes a device loader's virtual_ranks (set by the b16x8
# recipe) out the same way.
BUILDER_KEYS = frozenset({'type', '_scope_', DELETE_KEY,
                          'convert_to_iter_based', 'constructor',
                          'paramwise_cfg', 'virtual_ranks'})

# What a standard DataLoader config holds and a device loader, holding the
# split itself in one process, does not take.
STANDARD_LOADER_KEYS = frozenset({
    'num_workers', 'persistent_workers', 'pin_memory', 'prefetch_factor',
    'sampler', 'batch_sampler', 'collate_fn', 'dataset', 'worker_init_fn'})


def _typed_dicts(node: Any, path: str, scopes: List[str]):
    """``(dotted path, dict, scopes)`` of every ``type=...`` dict below
    ``node``, with the registry scopes in force at each."""
    if isinstance(node, dict):
        if node.get('_scope_'):
            scopes = [node['_scope_'], *scopes]
        if 'type' in node:
            yield path, node, scopes
        items = node.items()
    elif isinstance(node, (list, tuple)):
        items = enumerate(node)
    else:
        return
    for name, child in items:
        yield from _typed_dicts(child, f'{path}.{name}' if path else
                                str(name), scopes)


def check_type_arguments(cfg: Config) -> None:
    """Check every ``type=...`` dict of a merged config against the
    arguments of the class it builds, before anything runs.

    mmengine merges a config into its base key by key, so a config that
    switches ``optimizer=dict(type='Adam', lr=1e-3)`` over a base's SGD
    keeps SGD's ``momentum``, and a scheduler switched to
    ``CosineAnnealingLR`` keeps ``milestones``: the class then fails with a
    raw TypeError when it is built, after the run has started. A class that
    takes ``**kwargs`` it really uses, or that is not in the registries, is
    not checked.

    Raises:
        UserError: a dict holds a key its class does not take; the message
            names the dict, the key and how to replace the dict whole
            (``_delete_=True``).
    """
    default_scope = cfg.get('default_scope')
    for path, node, scopes in _typed_dicts(
            cfg._cfg_dict, '', [default_scope] if default_scope else []):
        named, var_keyword = _argument_names(node, scopes)
        if var_keyword:
            continue
        for key in node:
            if key in named or key in BUILDER_KEYS:
                continue
            kind = node['type'] if isinstance(node['type'], str) else \
                getattr(node['type'], '__name__', node['type'])
            if key in STANDARD_LOADER_KEYS and device_loader_class(
                    node['type']):
                raise UserError(
                    f'{path}: {kind} takes no argument {key!r}: a '
                    'device-resident loader holds the split on the device '
                    'and has no dataset, sampler or worker processes. '
                    f'Remove {key!r}, or use the standard config (the same '
                    'name without _device) for a DataLoader.')
            close = difflib.get_close_matches(str(key), named, n=1,
                                              cutoff=0.8)
            hint = f' (did you mean {close[0]!r}?)' if close else ''
            raise UserError(
                f'{path}: {kind} takes no argument {key!r}{hint}. mmengine '
                'merges a dict into the one it overrides key by key, so '
                f'{key!r} may be left from the type it replaces: write '
                f'{DELETE_KEY}=True in that dict of your config to replace '
                f'it whole, or on the command line pass --cfg-options '
                f'{path}.{DELETE_KEY}=True {path}.type={kind} and each of '
                'its arguments.')
