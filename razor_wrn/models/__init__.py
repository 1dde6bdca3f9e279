"""Models; importing this registers them (backbones and classifiers in
mmpretrain's registry, distillation parts in mmrazor's)."""
from . import (algorithms, backbones, classifiers, connectors,  # noqa: F401
               distillers, losses, norm, recorders)
