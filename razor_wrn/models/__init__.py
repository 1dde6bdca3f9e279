"""Models; importing this registers them (backbones in mmpretrain's
registry, distillation parts in mmrazor's)."""
from . import algorithms, backbones, losses  # noqa: F401
