"""CIFAR's training augmentation on a batch tensor: zero padding, a random
crop back to the input size, and a horizontal flip after the crop.

:func:`crop_flip` computes each image's pixel indices from its crop corner
and flip; :class:`CropFlipViews` looks them up in a table of every view, so
a batch costs a padding, one lookup and one gather (3 kernels instead of
about 11: on a GPU each launch costs host time, on a CPU each small op
microseconds). Both give the same bytes.
"""
import torch
import torch.nn.functional as F


def crop_flip(images: torch.Tensor, offsets: torch.Tensor,
              flips: torch.Tensor, padding: int = 4) -> torch.Tensor:
    """Zero-pad, crop back to the input size and optionally mirror each image.

    Equal to mmpretrain's ``RandomCrop(crop_size=(H, W), padding=padding)``
    followed by ``RandomFlip(direction='horizontal')`` with the same draws:
    output pixel ``(y, x)`` of image ``b`` is padded pixel
    ``(oy + y, ox + x)``, or ``(oy + y, ox + W - 1 - x)`` when flipped.

    Args:
        images (torch.Tensor): Batch ``(B, C, H, W)`` of any dtype.
        offsets (torch.Tensor): Integer ``(B, 2)`` crop corners ``(oy, ox)``
            in padded coordinates, each in ``0..2 * padding``.
        flips (torch.Tensor): Bool ``(B,)``, True to mirror horizontally.
        padding (int): Zero border added on every side before cropping.

    Returns:
        torch.Tensor: The augmented batch, same shape, dtype and device.
    """
    h, w = images.shape[2:]
    return _gather(images, _flat_indices(offsets, flips, h, w, padding),
                   padding)


def _gather(images: torch.Tensor, flat: torch.Tensor,
            padding: int) -> torch.Tensor:
    """``images`` ``(B, C, H, W)`` zero-padded, then each image's pixels
    at its ``flat`` ``(B, H * W)`` indices into the padded image."""
    b, c, h, w = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))
    flat = flat.view(b, 1, h * w).expand(b, c, h * w)
    return padded.flatten(2).gather(2, flat).view(b, c, h, w)


def _flat_indices(offsets: torch.Tensor, flips: torch.Tensor, h: int,
                  w: int, padding: int) -> torch.Tensor:
    """int64 ``(B, h * w)``: for each output pixel of each view, its index
    in the flattened ``(h + 2 * padding, w + 2 * padding)`` padded image."""
    rows = offsets[:, :1] + torch.arange(h, device=offsets.device)
    cols = offsets[:, 1:] + torch.arange(w, device=offsets.device)
    # Folding the flip into the column index keeps crop + flip one gather.
    cols = torch.where(flips[:, None], cols.flip(1), cols)
    flat = rows[:, :, None] * (w + 2 * padding) + cols[:, None, :]
    return flat.view(len(offsets), h * w)


class CropFlipViews:
    """:func:`crop_flip` for images of one size, by a table of every view.

    A view is a crop corner ``(oy, ox)`` and a flip: ``(2 * padding + 1)**2
    * 2`` of them (162 for CIFAR's padding of 4; the table is 1.3 MB for
    32x32 images). :meth:`view_ids` numbers an epoch's draws once;
    :meth:`__call__` then augments a batch with a lookup and a gather.

    Args:
        height (int): Image height ``H`` in pixels.
        width (int): Image width ``W`` in pixels.
        padding (int): Zero border added on every side before cropping.
        device (torch.device | str): Where the table lives (the images').
    """

    def __init__(self, height: int, width: int, padding: int,
                 device: torch.device) -> None:
        self.padding = padding
        self.side = 2 * padding + 1
        corners = torch.arange(self.side)
        oy, ox, flip = torch.meshgrid(corners, corners, torch.arange(2),
                                      indexing='ij')
        offsets = torch.stack([oy.flatten(), ox.flatten()], 1)
        # Row v of the table is the view whose id (see view_ids) is v.
        self.table = _flat_indices(offsets, flip.flatten().bool(), height,
                                   width, padding).to(device)

    def view_ids(self, offsets: torch.Tensor,
                 flips: torch.Tensor) -> torch.Tensor:
        """int64 ``(B,)`` table rows of crop corners ``offsets`` ``(B, 2)``
        (each in ``0..2 * padding``) and bool ``flips`` ``(B,)``."""
        return (offsets[:, 0] * self.side + offsets[:, 1]) * 2 + flips.long()

    def __call__(self, images: torch.Tensor,
                 view_ids: torch.Tensor) -> torch.Tensor:
        """The batch ``images`` ``(B, C, H, W)`` (any dtype) augmented by
        the views ``view_ids`` ``(B,)``: the bytes :func:`crop_flip` gives
        for the same corners and flips."""
        return _gather(images, self.table[view_ids], self.padding)
