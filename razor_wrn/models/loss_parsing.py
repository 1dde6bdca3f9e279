"""mmengine's ``BaseModel.parse_losses`` without its no-op tensor ops.

mmengine averages every loss (``.mean()``, also of a scalar) and starts
their sum from the integer 0 (``sum(...)``): for the scalar losses that the
WRN classifier and the distillers return, two to four ops and as many
autograd nodes per training step that change no bit of the loss or of any
gradient (the mean of one value and ``0 + x`` are exact). On a GPU each is
a kernel launch of host time; :func:`parse_losses` leaves them out and
returns the same numbers in the same dict.
"""
from collections import OrderedDict
from typing import Dict, List, Tuple, Union

import torch
from mmengine.utils import is_list_of

Losses = Dict[str, Union[torch.Tensor, List[torch.Tensor]]]


def _mean(value: torch.Tensor) -> torch.Tensor:
    # A floating scalar is its own mean; anything else goes through
    # mean(), which also raises for integer tensors as mmengine's does.
    if value.dim() == 0 and value.is_floating_point():
        return value
    return value.mean()


def parse_losses(losses: Losses
                 ) -> Tuple[Union[torch.Tensor, int], Dict[str, torch.Tensor]]:
    """The total loss and the logged values of a model's ``loss()`` output,
    equal to mmengine's ``BaseModel.parse_losses`` value for value and
    gradient for gradient.

    Args:
        losses (dict): Name -> tensor (averaged), or list of tensors (each
            averaged, then summed, as mmengine does).

    Returns:
        tuple: The sum of the values whose name contains ``'loss'`` (the
        integer 0 when none does, as in mmengine), and the dict mmengine
        logs: ``loss`` first (the total, or the value named ``loss`` when
        there is one), then every value in ``losses``' order.

    Raises:
        TypeError: A value that is neither a tensor nor a list of tensors.
    """
    parsed: Dict[str, torch.Tensor] = {}
    for name, value in losses.items():
        if isinstance(value, torch.Tensor):
            parsed[name] = _mean(value)
        elif is_list_of(value, torch.Tensor):
            parsed[name] = sum(term.mean() for term in value)
        else:
            raise TypeError(f'{name} is not a tensor or list of tensors')
    terms = [value for name, value in parsed.items() if 'loss' in name]
    total: Union[torch.Tensor, int] = terms[0] if terms else 0
    for term in terms[1:]:
        total = total + term
    log_vars = OrderedDict(loss=total)
    log_vars.update(parsed)
    return total, log_vars


class LossParsing:
    """Mixin, before mmengine's ``BaseModel`` in the bases: its
    ``parse_losses`` as :func:`parse_losses`."""

    def parse_losses(self, losses: Losses
                     ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        return parse_losses(losses)
