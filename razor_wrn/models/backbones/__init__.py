from .wide_resnet import PreActBasicBlock, WideResNet

__all__ = ['PreActBasicBlock', 'WideResNet']
