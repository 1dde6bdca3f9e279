"""The on-disk teacher-output bank: the frozen teacher's logits for every
training view, and a header saying exactly what they are.

Under the CIFAR augmentation (a ``crop_size`` crop of the zero-padded image
at one of ``n_y x n_x`` offsets, flipped or not) every training view is one
of ``V = n_y * n_x * 2`` per image (162 for 32x32, padding 4), so the
teacher's output for every view fits in one array. A bank is a folder::

    BANK/header.json   what the logits are (teacher, data, views, dtype)
    BANK/logits.npy    (N, V, num_classes) float32 or float16
    BANK/filled.npy    (N, V) bool: which entries hold a teacher output

View ``v`` of image ``i`` is crop corner ``(oy, ox)`` (padded coordinates)
and flip ``f``: ``v = (oy * n_x + ox) * 2 + f``. The ``.npy`` files are
memory-mapped, so a bank larger than memory (CIFAR-100 in fp32: 3.2 GB) is
read from the page cache and an interrupted build or fill keeps what it
wrote (``logits`` is flushed before ``filled`` marks it).
"""
import hashlib
import json
import os
import os.path as osp
from typing import Dict, Iterable, Tuple

import numpy as np
import torch

BANK_FORMAT = 'razor_wrn-teacher-bank-1'
# The header keys that must equal the run's for the logits to be its
# teacher's outputs for its views.
MATCHED_KEYS = ('teacher_weights_sha256', 'data_sha256', 'num_images',
                'image_size', 'crop_size', 'padding', 'flip', 'mean', 'std',
                'to_rgb', 'num_classes', 'logits_source')
DTYPES = {'float32': np.float32, 'float16': np.float16}


def weights_sha256(module: torch.nn.Module) -> str:
    """sha256 of a module's state dict (names, dtypes, shapes, values): the
    teacher's identity however it was loaded (file, URL, converted)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f'{name}:{tensor.dtype}:{tuple(tensor.shape)}'.encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def data_sha256(images: np.ndarray, labels: Iterable[int]) -> str:
    """Fingerprint of a training split: sha256 of its uint8 ``(N, H, W, C)``
    images and int64 labels in dataset order (the same for both pipelines,
    whatever the files' container format)."""
    digest = hashlib.sha256()
    digest.update(f'{images.dtype}:{images.shape}'.encode())
    digest.update(np.ascontiguousarray(images).tobytes())
    digest.update(np.asarray(list(labels), dtype=np.int64).tobytes())
    return digest.hexdigest()


def view_count(image_size: Tuple[int, int], crop_size: int,
               padding: int) -> Tuple[int, int]:
    """Crop positions ``(n_y, n_x)`` of a ``crop_size`` crop of an
    ``image_size`` image zero-padded by ``padding``."""
    return (image_size[0] + 2 * padding - crop_size + 1,
            image_size[1] + 2 * padding - crop_size + 1)


class TeacherBankFile:
    """A bank folder, memory-mapped.

    Args:
        path (str): The bank folder.
        writable (bool): Open ``logits`` and ``filled`` for writing.

    Raises:
        FileNotFoundError: ``path`` holds no bank.
        ValueError: the folder is not a bank of this format.
    """

    def __init__(self, path: str, writable: bool = False) -> None:
        self.path = path
        header_path = osp.join(path, 'header.json')
        if not osp.isfile(header_path):
            raise FileNotFoundError(
                f'No teacher bank at {path!r} (no header.json). Build one '
                'with tools/build_teacher_bank.py, or use mode=\'fill\'.')
        with open(header_path) as f:
            self.header: Dict = json.load(f)
        if self.header.get('format') != BANK_FORMAT:
            raise ValueError(
                f'{header_path} is not a {BANK_FORMAT} header '
                f'(format {self.header.get("format")!r}).')
        mode = 'r+' if writable else 'r'
        self.logits = np.load(osp.join(path, 'logits.npy'), mmap_mode=mode)
        self.filled = np.load(osp.join(path, 'filled.npy'), mmap_mode=mode)
        n_y, n_x = view_count(self.header['image_size'],
                              self.header['crop_size'],
                              self.header['padding'])
        self.num_offsets_x = n_x
        expected = (self.header['num_images'], n_y * n_x * 2,
                    self.header['num_classes'])
        if self.logits.shape != expected or \
                self.filled.shape != expected[:2]:
            raise ValueError(
                f'Teacher bank {path!r} is damaged: logits {self.logits.shape}'
                f' and filled {self.filled.shape}, header says {expected}. '
                'Rebuild it.')

    @classmethod
    def create(cls, path: str, header: Dict) -> 'TeacherBankFile':
        """Write an empty bank described by ``header`` (all keys of
        :data:`MATCHED_KEYS` plus ``dtype``) and open it for writing."""
        os.makedirs(path, exist_ok=True)
        n_y, n_x = view_count(header['image_size'], header['crop_size'],
                              header['padding'])
        shape = (header['num_images'], n_y * n_x * 2, header['num_classes'])
        header = dict(
            header, format=BANK_FORMAT, num_views=shape[1],
            view_index='(oy * n_x + ox) * 2 + flip, (oy, ox) the crop '
            'corner in padded coordinates')
        np.lib.format.open_memmap(
            osp.join(path, 'logits.npy'), 'w+', DTYPES[header['dtype']],
            shape).flush()
        np.lib.format.open_memmap(
            osp.join(path, 'filled.npy'), 'w+', np.bool_, shape[:2]).flush()
        # The header last: a folder without one is not a bank yet.
        with open(osp.join(path, 'header.json'), 'w') as f:
            json.dump(header, f, indent=1)
        return cls(path, writable=True)

    def mismatches(self, expected: Dict) -> Dict[str, Tuple]:
        """``{key: (bank's value, run's value)}`` for every matched key
        that differs from ``expected``."""
        return {key: (self.header.get(key), expected[key])
                for key in MATCHED_KEYS
                if json.loads(json.dumps(expected[key])) !=
                self.header.get(key)}

    def view_index(self, oy: int, ox: int, flip: bool) -> int:
        """Column of view ``(oy, ox, flip)`` in ``logits``."""
        return (oy * self.num_offsets_x + ox) * 2 + int(flip)

    def flush(self) -> None:
        """Write the logits, then the marks that say they are there."""
        if self.logits.flags.writeable:
            self.logits.flush()
            self.filled.flush()
