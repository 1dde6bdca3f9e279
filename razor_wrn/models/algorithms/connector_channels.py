"""Connector channels derived from the models a distiller connects."""
import copy
import inspect
from typing import Dict, Optional

from mmrazor.registry import MODELS
from torch import nn

_STAGE_RECORDERS = ('StageOutputs', 'StageOutputsRecorder')


# The classifier's neck (global average pooling) keeps the channels of the
# last stage.
_POOLED_SOURCES = ('neck', 'neck.gap')


def _recorded_channels(recorder: Dict, model: nn.Module) -> Optional[int]:
    """Channels of a ``StageOutputs`` recorder's feature, or of the pooled
    features (``ModuleOutputs`` of the neck); None for others."""
    if recorder.get('type') in _STAGE_RECORDERS:
        return model.backbone.stage_channels[recorder['stage']]
    if recorder.get('type') in ('ModuleOutputs', 'ModuleOutputsRecorder') \
            and recorder.get('source') in _POOLED_SOURCES:
        return model.backbone.stage_channels[-1]
    return None


def fill_connector_channels(distiller: Dict, student: nn.Module,
                            teacher: nn.Module) -> Dict:
    """Set each connector's input and output channels from the features it
    connects, where the config leaves them out.

    A connector on one side of a loss takes the channels of that side's
    recorded feature as ``in_channel`` (``dim_in`` for embedding heads such
    as mmrazor's ``CRDConnector``) and the other side's as ``out_channel``
    (a student connector maps student channels to the teacher's). Channels
    are known for ``StageOutputs`` recorders
    (``backbone.stage_channels[stage]``) and for the pooled features
    (``ModuleOutputs`` of ``neck``/``neck.gap``: the last stage's); values a
    config sets are kept. Where a mapping names a list of recorders
    (:class:`~razor_wrn.models.distillers.FeatureListDistiller`), the
    connector's ``in_channels`` and ``out_channels`` are the lists of the
    channels of each side's features.

    Args:
        distiller: mmrazor distiller config (``student_recorders``,
            ``teacher_recorders``, ``connectors``, ``loss_forward_mappings``).
        student: The built student classifier.
        teacher: The built teacher classifier.

    Returns:
        dict: A copy of ``distiller`` with the channels filled in.

    Raises:
        ValueError: If a connector needs a channel count that is neither set
            nor derivable.
    """
    distiller = copy.deepcopy(distiller)
    connectors = distiller.get('connectors') or {}
    recorders = {True: distiller.get('student_recorders') or {},
                 False: distiller.get('teacher_recorders') or {}}
    models = {True: student, False: teacher}
    for loss_name, mapping in (distiller.get('loss_forward_mappings')
                               or {}).items():
        features = [spec for spec in mapping.values()
                    if isinstance(spec, dict) and 'recorder' in spec]
        channels = {True: None, False: None}
        lists = {True: None, False: None}  # of a list of recorders
        for spec in features:
            side = bool(spec['from_student'])
            if isinstance(spec['recorder'], list):
                found = [_recorded_channels(recorders[side].get(name, {}),
                                            models[side])
                         for name in spec['recorder']]
                lists[side] = None if None in found else found
                continue
            recorder = recorders[side].get(spec['recorder'], {})
            channels[side] = channels[side] or _recorded_channels(
                recorder, models[side])
        for spec in features:
            name = spec.get('connector')
            if name is None or name not in connectors:
                continue
            side = bool(spec['from_student'])
            connector = connectors[name]
            params = inspect.signature(MODELS.get(connector['type'])).parameters
            for key, value in (('in_channel', channels[side]),
                               ('dim_in', channels[side]),
                               ('out_channel', channels[not side]),
                               ('in_channels', lists[side]),
                               ('out_channels', lists[not side])):
                if key not in params or key in connector:
                    continue
                if value is None:
                    if params[key].default is inspect.Parameter.empty:
                        raise ValueError(
                            f'Connector {name!r} of {loss_name!r} needs '
                            f'`{key}`: record its features with '
                            "dict(type='StageOutputs', stage=i) so it is "
                            'derived, or set it in the connector config.')
                    continue
                connector[key] = value
    return distiller
