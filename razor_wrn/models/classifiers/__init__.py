from .tensor_batch_preprocessor import TensorBatchPreprocessor
from .wrn_classifier import WRNClassifier

__all__ = ['TensorBatchPreprocessor', 'WRNClassifier']
