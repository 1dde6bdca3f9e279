from .wrn_classifier import WRNClassifier

__all__ = ['WRNClassifier']
