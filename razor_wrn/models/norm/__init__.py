"""Norm layers; importing this registers them in mmengine's root ``MODELS``
(so ``norm_cfg=dict(type='GhostBN', ...)`` builds from any scope)."""
from .ghost_batch_norm import GhostBatchNorm

__all__ = ['GhostBatchNorm']
