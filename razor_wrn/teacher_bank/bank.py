"""Distill from a teacher-output bank instead of running the frozen teacher.

A frozen teacher in eval mode maps each training view to fixed logits, and
under the CIFAR augmentation there are 162 views per image
(:mod:`.bank_file`). With ``model.teacher_bank=dict(path=BANK,
mode='read')`` on a :class:`FrozenTeacherDistill` whose distiller is fed only
by the teacher's logits (Hinton KD, DKD), the teacher forward of each
training step is replaced by one gather of the batch's views (each sample's
``sample_idx``, ``crop_offset`` and ``flip`` metainfo, recorded by
``SeededRandomCropFlip`` or the device loader) into the teacher recorders'
buffers, which the distill losses read as if the teacher had run.

``mode='fill'`` starts from ``path`` if it holds a bank (else from an empty
one), runs the teacher only on the views not yet in it, stores them and keeps
the bank in ``WORK_DIR/teacher_bank`` (flushed before every checkpoint), so
``--resume`` and the next student start from it.

Refused with one :class:`TeacherBankError` naming the mismatch: a bank whose
header does not match the run (teacher weights, training data, crop/padding,
normalisation, number of classes), a train pipeline with other random
transforms, and a distiller that records teacher features or deliveries.
The run-side checks (:mod:`.checks`) need the train loader;
``TeacherBankHook`` (:mod:`.hook`, in ``configs/_base_/kd_runtime.py``'s
default hooks) calls :meth:`TeacherBank.attach` before training.
"""
import os
import os.path as osp
import shutil
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.dist import barrier, get_world_size, is_main_process
from mmengine.structures import BaseDataElement

from ..errors import TeacherBankError
from .bank_file import TeacherBankFile
from .checks import loader_header, teacher_header


class TeacherBank:
    """The switch ``model.teacher_bank=dict(path=..., mode=...)``.

    Args:
        path (str, optional): Bank folder (``tools/build_teacher_bank.py
            --out``); for ``mode='fill'`` it may be None or missing (start
            empty).
        mode (str): ``'read'`` (every view must be in the bank) or
            ``'fill'`` (compute and store the missing ones).
        memmap (bool): ``'read'`` only: gather from the memory-mapped file
            on the CPU instead of loading the bank onto the training device
            (for banks larger than device memory).

    Raises:
        TeacherBankError: an unknown mode.
    """

    def __init__(self, path: Optional[str] = None, mode: str = 'read',
                 memmap: bool = False) -> None:
        if mode not in ('read', 'fill'):
            raise TeacherBankError(
                f"model.teacher_bank.mode must be 'read' or 'fill', got "
                f'{mode!r}.')
        if mode == 'read' and not path:
            raise TeacherBankError(
                "model.teacher_bank.mode='read' needs model.teacher_bank.path"
                '=BANK (tools/build_teacher_bank.py writes one).')
        self.path = path
        self.mode = mode
        self.memmap = memmap or mode == 'fill'
        self.file: Optional[TeacherBankFile] = None
        self.logits: Optional[torch.Tensor] = None
        self.views_seen = 0  # training views looked up
        self.teacher_views = 0  # of which the teacher ran on (fill mode)

    def attach(self, algorithm, loader, work_dir: str) -> str:
        """Open the bank for this run after checking that it fits.

        Returns:
            str: A line for the log saying what was opened.

        Raises:
            TeacherBankError: the bank's header differs from the run, or (in
                read mode) the bank is missing or incomplete.
        """
        expected = dict(teacher_header(algorithm), **loader_header(loader))
        if self.mode == 'fill':
            self.file = self._open_fill(expected, work_dir)
        else:
            self.file = self._open(self.path, expected)
        filled = int(self.file.filled.sum())
        if self.mode == 'read':
            if filled < self.file.filled.size:
                raise TeacherBankError(
                    f'Teacher bank {self.path!r} holds {filled} of '
                    f'{self.file.filled.size} views; finish it with '
                    "tools/build_teacher_bank.py or use mode='fill'.")
            if not self.memmap:
                device = next(algorithm.teacher.parameters()).device
                self.logits = torch.from_numpy(
                    np.array(self.file.logits)).to(device)
        return (f'Teacher bank {self.file.path} ({self.mode}): {filled} of '
                f'{self.file.filled.size} views, {self.file.header["dtype"]}')

    @staticmethod
    def _open(path: str, expected: Dict,
              writable: bool = False) -> TeacherBankFile:
        """Open the bank at ``path`` if it was built for this run."""
        try:
            bank = TeacherBankFile(path, writable)
        except (FileNotFoundError, ValueError) as error:
            raise TeacherBankError(f'model.teacher_bank: {error}') from None
        mismatches = bank.mismatches(expected)
        if mismatches:
            shown = '; '.join(f'{key}: bank {theirs!r}, run {ours!r}'
                              for key, (theirs, ours) in mismatches.items())
            raise TeacherBankError(
                f'Teacher bank {path!r} was not built for this run '
                f'({shown}). Rebuild it with tools/build_teacher_bank.py for '
                "this config and teacher, or use mode='fill' with a new path.")
        return bank

    def _open_fill(self, expected: Dict, work_dir: str) -> TeacherBankFile:
        """The work dir's bank: resumed, copied from ``path``, or new.

        Every rank writes the views it computes into the same memory-mapped
        file; ranks of one machine share its page cache, ranks on several
        machines would overwrite each other's pages, so that is refused.
        """
        world_size = get_world_size()
        if int(os.environ.get('LOCAL_WORLD_SIZE', world_size)) < world_size:
            raise TeacherBankError(
                "model.teacher_bank.mode='fill' needs every rank on one "
                'machine (they share one memory-mapped file). Build the bank '
                "with tools/build_teacher_bank.py and use mode='read'.")
        own = osp.join(work_dir, 'teacher_bank')
        if is_main_process() and not osp.isdir(own):
            if self.path and osp.isfile(osp.join(self.path, 'header.json')):
                self._open(self.path, expected)  # checked before the copy
                shutil.copytree(self.path, own)
            else:
                TeacherBankFile.create(own, dict(expected, dtype='float32'))
        barrier()
        return self._open(own, expected, writable=True)

    def record(self, algorithm, batch_inputs: torch.Tensor,
               data_samples: List[BaseDataElement]) -> None:
        """Put the batch's teacher logits into the teacher recorders, as the
        teacher forward under ``distiller.teacher_recorders`` would.

        Args:
            algorithm: The distillation model (its distiller and teacher).
            batch_inputs (torch.Tensor): ``(B, C, H, W)`` preprocessed
                inputs, used only for the views fill mode computes.
            data_samples (list): ``B`` samples with view metainfo.

        Raises:
            TeacherBankError: the bank was not attached (no
                ``TeacherBankHook``) or the samples do not name their views.
        """
        if self.file is None:
            raise TeacherBankError(
                'model.teacher_bank is set but the bank was never attached '
                "to the run: add default_hooks.teacher_bank=dict(type="
                "'TeacherBankHook') (configs/_base_/kd_runtime.py has it).")
        images, views = self._views(data_samples)
        if self.mode == 'fill':
            self._fill(algorithm, batch_inputs, images, views)
        if self.logits is not None:
            device = self.logits.device
            logits = self.logits[torch.from_numpy(images).to(device),
                                 torch.from_numpy(views).to(device)]
        else:
            logits = torch.from_numpy(self.file.logits[images, views])
        logits = logits.to(batch_inputs.device, torch.float32)
        self.views_seen += len(images)
        with algorithm.distiller.teacher_recorders:
            for recorder in \
                    algorithm.distiller.teacher_recorders.recorders.values():
                recorder.data_buffer.append(logits)

    def _views(self, data_samples: List[BaseDataElement]
               ) -> Tuple[np.ndarray, np.ndarray]:
        """int64 ``(B,)`` image indices and view columns of a batch."""
        try:
            rows = [(s.sample_idx, *s.crop_offset, s.flip)
                    for s in data_samples]
        except AttributeError:
            raise TeacherBankError(
                'model.teacher_bank: the training samples do not name their '
                'views (sample_idx, crop_offset, flip metainfo); use the '
                'SeededRandomCropFlip pipeline or the device loader.') \
                from None
        view = self.file.view_index
        return (np.array([r[0] for r in rows], dtype=np.int64),
                np.array([view(*r[1:]) for r in rows], dtype=np.int64))

    @torch.no_grad()
    def _fill(self, algorithm, batch_inputs: torch.Tensor,
              images: np.ndarray, views: np.ndarray) -> None:
        """Run the teacher on the batch's views not yet in the bank."""
        missing = ~self.file.filled[images, views]
        if missing.any():
            rows = torch.from_numpy(np.flatnonzero(missing)).to(
                batch_inputs.device)
            logits = algorithm.teacher(batch_inputs[rows], mode='tensor')
            self.file.logits[images[missing], views[missing]] = \
                logits.cpu().numpy()
            self.file.filled[images[missing], views[missing]] = True
            self.teacher_views += int(missing.sum())
