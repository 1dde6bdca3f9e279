"""Weights loaded into a model strictly: a state dict that does not fit
stops with one message listing the missing and unexpected keys and the
shape mismatches, and naming the likely cause; a ``load_from`` classifier
is fitted onto a distillation's student.
"""
import re
from typing import Dict, Optional

import torch

from ..errors import CheckpointError
from .reading import state_dict_of


def _wrn_signature(state_dict: Dict[str, torch.Tensor],
                   part: str = '') -> Optional[str]:
    """'WRN-depth-width' of a WideResNet state dict, if it holds one; of the
    keys starting with ``part`` (e.g. ``'teacher.'``) when given."""
    conv_keys = [k for k in state_dict if k.startswith(part)
                 and k.endswith('layer1.0.conv1.weight')]
    if not conv_keys:
        return None
    prefix = conv_keys[0][:-len('layer1.0.conv1.weight')]
    blocks = {k.split('.')[0] for k in (
        key[len(prefix) + len('layer1.'):] for key in state_dict
        if key.startswith(prefix + 'layer1.'))}
    width = state_dict[conv_keys[0]].shape[0] // 16
    return f'WRN-{6 * len(blocks) + 4}-{width}'


def load_weights_strictly(model: torch.nn.Module,
                          state_dict: Dict[str, torch.Tensor],
                          source: str, role: str = '') -> None:
    """``model.load_state_dict(state_dict, strict=True)``, failing with one
    message that lists the missing and unexpected keys and the shape
    mismatches, and names the likely cause.

    Args:
        model: The module to load into.
        state_dict: Its weights.
        source: The checkpoint's path, named in the message.
        role: What the checkpoint is for (e.g. ``'model.teacher_ckpt'``),
            named after the path; empty: nothing.

    Raises:
        CheckpointError: ``state_dict`` does not fit ``model``; nothing is
            loaded then.
    """
    check_weights_fit(model, state_dict, source, role)
    model.load_state_dict(state_dict, strict=True)


def _num_classes(state_dict: Dict[str, torch.Tensor]) -> Optional[int]:
    heads = [v for k, v in state_dict.items() if k.endswith('head.fc.weight')]
    return heads[0].shape[0] if len(heads) == 1 else None


def check_weights_fit(model: torch.nn.Module,
                      state_dict: Dict[str, torch.Tensor],
                      source: str, role: str = '') -> None:
    """Raise a :class:`CheckpointError` listing the missing and unexpected
    keys and the shape mismatches unless ``state_dict`` fits ``model``
    exactly (arguments as :func:`load_weights_strictly`)."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    mismatched = [
        f'{k}: checkpoint {tuple(state_dict[k].shape)} vs model '
        f'{tuple(v.shape)}' for k, v in expected.items()
        if k in state_dict and state_dict[k].shape != v.shape
    ]
    if not (missing or unexpected or mismatched):
        return

    def listing(title, items):
        shown = '\n    '.join(items[:8])
        more = f'\n    ... and {len(items) - 8} more' if len(items) > 8 else ''
        return f'\n  {title} ({len(items)}):\n    {shown}{more}'

    hints = []
    # A distillation checkpoint names each network; the fix for one of them
    # is that network's depth and width, not another config.
    parts = [('teacher.', 'model.teacher'),
             ('architecture.', 'model.architecture')] if any(
                 k.startswith(('teacher.', 'architecture.'))
                 for k in expected) else [('', '')]
    for part, key in parts:
        found = _wrn_signature(state_dict, part)
        wanted = _wrn_signature(expected, part)
        if not (found and wanted and found != wanted):
            continue
        if role == 'model.teacher_ckpt':
            key = 'model.teacher'
        if key:
            depth, width = found.split('-')[1:]
            hints.append(
                f'the checkpoint\'s {part.rstrip(".") or "network"} is a '
                f'{found}, the config builds a {wanted}: pass --cfg-options '
                f'{key}.backbone.depth={depth} '
                f'{key}.backbone.widen_factor={width}')
        else:
            hints.append(
                f'the checkpoint holds a {found}, the config builds a '
                f'{wanted}: use the config that matches the checkpoint')
    classes, wanted_classes = _num_classes(state_dict), _num_classes(expected)
    if classes and wanted_classes and classes != wanted_classes:
        hints.append(
            f'the checkpoint classifies {classes} classes, the config '
            f'{wanted_classes}: use one trained on the config\'s data set '
            '(e.g. a CIFAR-100 one for a _cifar100 config)')
    if parts == [('', '')] and any(
            k.startswith(('architecture.', 'teacher.')) for k in unexpected):
        hints.append(
            'this is a distillation checkpoint: test it with its KD config, '
            'or extract the student with tools/model_converters/'
            'convert_kd_ckpt_to_student.py')
    if parts != [('', '')] and state_dict and not any(
            k.startswith(('architecture.', 'teacher.')) for k in state_dict):
        hints.append(
            "this is a plain classifier's checkpoint, not a distillation's: "
            'test it with the vanilla config of its network, or start the '
            'student of a distillation from it with --cfg-options '
            'load_from=PATH')
    message = (f'Checkpoint {source!r}{f" ({role})" if role else ""} does '
               'not fit the model:' +
               (listing('missing keys', missing) if missing else '') +
               (listing('unexpected keys', unexpected) if unexpected else '') +
               (listing('shape mismatches', mismatched) if mismatched else ''))
    if hints:
        message += '\n  Likely cause: ' + '; '.join(hints) + '.'
    raise CheckpointError(message)


def fit_load_from(model: torch.nn.Module, checkpoint: dict,
                  source: str) -> bool:
    """Make a ``load_from`` checkpoint load strictly into ``model``.

    mmengine loads ``load_from`` with ``strict=False``: whatever does not
    match is skipped with a warning. Here the weights must fit ``model``
    exactly, or, when ``model`` is a distillation (it has an
    ``architecture``, the student) and the checkpoint is a plain
    classifier's, fit the student exactly: then ``checkpoint``'s weights are
    rewritten in place to the whole model's, the student's from the
    checkpoint and the rest (teacher, connectors, memory banks) as they
    are, so that mmengine's load changes exactly the student.

    Args:
        model: The model being trained (not its DDP wrapper).
        checkpoint: The loaded checkpoint (a dict with ``state_dict``, or a
            bare state dict), changed in place.
        source: The checkpoint's path, named in errors.

    Returns:
        bool: Whether the checkpoint was a classifier's loaded onto the
        student.

    Raises:
        CheckpointError: the weights fit neither the model nor its student;
            the message lists the mismatches.
    """
    weights = state_dict_of(checkpoint, source)
    weights = {re.sub(r'^module\.', '', k): v for k, v in weights.items()}
    student = getattr(model, 'architecture', None)
    is_classifier = not any(k.startswith(('architecture.', 'teacher.'))
                            for k in weights)
    if not isinstance(student, torch.nn.Module) or not is_classifier:
        check_weights_fit(model, weights, source, 'load_from')
        return False
    check_weights_fit(student, weights, source, 'load_from, as the student')
    merged = model.state_dict()
    merged.update({f'architecture.{k}': v for k, v in weights.items()})
    target = checkpoint['state_dict'] if isinstance(
        checkpoint.get('state_dict'), dict) else checkpoint
    target.clear()
    target.update(merged)
    return True
