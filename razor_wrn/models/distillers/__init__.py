"""Distillers beyond mmrazor's; importing this registers them in mmrazor's
``MODELS``."""
from .feature_list_distiller import FeatureListDistiller

__all__ = ['FeatureListDistiller']
