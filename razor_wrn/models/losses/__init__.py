"""Distillation losses: each a pure function plus a registered module.

Importing this package registers the modules in mmrazor's ``MODELS``
registry under names that do not clash with mmrazor's own losses.
"""
from .attention_transfer_loss import (AttentionTransferLoss, attention_map,
                                      attention_transfer_loss)
from .crd_loss import (ContrastiveRepresentationLoss, crd_loss, exp_scores,
                       momentum_update, nce_loss,
                       other_class_negatives)
from .decoupled_kd_loss import DecoupledKDLoss, decoupled_kd_loss
from .dist_loss import DISTKDLoss, dist_loss, pearson_correlation
from .feature_mse_loss import FeatureMSELoss, feature_mse_loss
from .hcl_loss import HCLLoss, hcl_loss
from .hinton_kd_loss import HintonKDLoss, hinton_kd_loss
from .ofd_partial_l2_loss import OFDPartialL2Loss, ofd_partial_l2_loss

__all__ = [
    'AttentionTransferLoss', 'ContrastiveRepresentationLoss', 'DISTKDLoss',
    'DecoupledKDLoss', 'FeatureMSELoss', 'HCLLoss', 'HintonKDLoss',
    'OFDPartialL2Loss', 'attention_map', 'attention_transfer_loss',
    'crd_loss', 'decoupled_kd_loss', 'dist_loss', 'exp_scores',
    'feature_mse_loss', 'hcl_loss', 'hinton_kd_loss', 'momentum_update',
    'nce_loss', 'ofd_partial_l2_loss', 'other_class_negatives',
    'pearson_correlation'
]
