"""mmrazor's ConfigurableDistiller with lists of recorded features."""
from typing import Dict, List, Optional, Union

import torch.nn as nn
from mmrazor.models.distillers import ConfigurableDistiller
from mmrazor.registry import MODELS


@MODELS.register_module()
class FeatureListDistiller(ConfigurableDistiller):
    """A ``ConfigurableDistiller`` whose loss mappings may name a list of
    recorders: the loss argument (or the connector, if one is named) gets
    their records as one list, in that order.

    Methods that fuse or compare several stages at once need it, e.g.
    ReviewKD, whose connector fuses all student stages
    (:class:`~razor_wrn.models.connectors.ABFConnector`) and whose loss
    compares them with all teacher stages:

    .. code-block:: python

        loss_forward_mappings=dict(loss_reviewkd=dict(
            s_feats=dict(from_student=True, connector='abf',
                         recorder=['stage0', 'stage1', 'stage2', 'pooled']),
            t_feats=dict(from_student=False,
                         recorder=['stage0', 'stage1', 'stage2', 'pooled'])))

    A single recorder name works as in the parent. Arguments are the
    parent's.
    """

    def get_record(self,
                   recorder: Union[str, List[str]],
                   from_student: bool,
                   record_idx: int = 0,
                   data_idx: Optional[int] = None,
                   connector: Optional[str] = None,
                   connector_idx: Optional[int] = None):
        """The record of ``recorder``, or the list of the records of each
        name in it, through ``connector`` if given."""
        if isinstance(recorder, str):
            return super().get_record(recorder, from_student, record_idx,
                                      data_idx, connector, connector_idx)
        records = [
            super(FeatureListDistiller, self).get_record(
                name, from_student, record_idx, data_idx)
            for name in recorder
        ]
        if connector:
            records = self.connectors[connector](records)
        if connector_idx is not None:
            records = records[connector_idx]
        return records

    def _check_loss_forward_mappings(self, losses: nn.ModuleDict,
                                     loss_forward_mappings: Dict[str, Dict],
                                     student_recorders, teacher_recorders
                                     ) -> None:
        """The parent's checks, for each name of a recorder list."""
        for loss_name, mapping in loss_forward_mappings.items():
            for key, spec in mapping.items():
                names = spec.get('recorder') if isinstance(spec, dict) \
                    else None
                singles = [dict(spec, recorder=n) for n in names] \
                    if isinstance(names, list) else [spec]
                for single in singles:
                    super()._check_loss_forward_mappings(
                        losses, {loss_name: {key: single}},
                        student_recorders, teacher_recorders)
