from .nan_loss_hook import NaNLossHook

__all__ = ['NaNLossHook']
