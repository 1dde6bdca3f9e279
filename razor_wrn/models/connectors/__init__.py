"""Connectors beyond mmrazor's; importing this registers them in mmrazor's
``MODELS``."""
from .abf_connector import ABF, ABFConnector

__all__ = ['ABF', 'ABFConnector']
