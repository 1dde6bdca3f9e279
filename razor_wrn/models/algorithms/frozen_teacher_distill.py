"""Single-teacher distillation with a frozen, strictly loaded teacher."""
from contextlib import contextmanager, nullcontext
from typing import ContextManager, Dict, Iterator, List, Optional, Tuple, Union

import torch
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement
from mmpretrain.structures import DataSample
from mmrazor.models import SingleTeacherDistill
from mmrazor.registry import MODELS
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ...checkpoint import load_teacher_ckpt
from ..loss_parsing import LossParsing
from ...teacher_bank import TeacherBank, check_logit_only
from .connector_channels import fill_connector_channels


TEACHER_BN_STATS = ('running', 'batch')


@contextmanager
def batch_norm_from_batch(model: nn.Module) -> Iterator[None]:
    """Within the block, every BatchNorm of ``model`` normalises with the
    statistics of the batch it sees (as in training mode) and updates no
    buffer: ``running_mean``, ``running_var`` and ``num_batches_tracked``
    keep their values. Other modules (dropout) keep their mode.
    """
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    saved = [(m.training, m.track_running_stats) for m in norms]
    try:
        for norm in norms:
            # training=True with track_running_stats=False: torch's BN
            # uses the batch's mean and variance and passes no running
            # buffers to be updated.
            norm.training, norm.track_running_stats = True, False
        yield
    finally:
        for norm, (training, track) in zip(norms, saved):
            norm.training, norm.track_running_stats = training, track


@MODELS.register_module()
class FrozenTeacherDistill(LossParsing, SingleTeacherDistill):
    """Single-teacher distillation with the teacher always frozen.

    Reused from mmrazor's ``SingleTeacherDistill``: its construction (the
    distiller built before the teacher, the teacher's parameters frozen and
    its in-place ops turned off, the recorders prepared on both models),
    ``student``, the ``distillation_stopped`` switch of mmrazor's
    ``StopDistillHook``, and its type, by which tools recognise a
    distillation. Owned here: :meth:`loss` (replaced whole), :meth:`train`
    and :meth:`init_weights`, each readable without the parent's.

    What differs from the parent:

    - ``teacher_ckpt`` (path or URL; a ``tools/train.py`` checkpoint, an
      MMRazor release or a bare state dict) is loaded strictly and safely;
      any mismatch stops the build with one message listing keys and shapes.
    - The teacher is in eval mode whenever the algorithm trains (BN *and*
      dropout), gets no gradients, runs before the student under
      ``torch.no_grad`` in ``tensor`` mode (no teacher loss is computed),
      and keeps its loaded weights through the Runner's ``init_weights``.
    - Loss keys are ``loss_student`` (the student's task loss) and the
      distiller's own ``loss_*`` names, so mmengine logs each term; they
      are summed without mmengine's no-op ops
      (:mod:`~razor_wrn.models.loss_parsing`).
    - Connector channels left out of the config are derived from the two
      models (``StageOutputs`` recorders, see
      :func:`~razor_wrn.models.algorithms.connector_channels.fill_connector_channels`),
      so a config changes the pair by depth and width alone.
    - Connector and loss shape mismatches are found when the model is
      built, by one forward pass on ``dry_run_shape`` zero images.
    - An OFD distiller's teacher margins are computed from the *loaded*
      teacher.
    - ``teacher_bn_stats='batch'`` makes the teacher's BatchNorm normalise
      each training batch by its own statistics, as overhaul-distillation's
      and mdistiller's OFD do (they run the teacher in training mode),
      without changing its weights or running buffers; validation and the
      teacher's own evaluation still use the running statistics.

    Args:
        architecture: The student: an mmpretrain classifier config or model.
        teacher: The teacher: config or model of the same kind.
        distiller: mmrazor distiller config (recorders, connectors, losses).
        teacher_ckpt: Checkpoint of the teacher; None keeps its init weights.
        calculate_student_loss: Add the student's own task loss.
        dry_run_shape: (C, H, W) of the check-forward images; None skips it.
        teacher_bank: ``dict(path=BANK, mode='read'|'fill')`` to take the
            teacher's logits from a bank (see :mod:`razor_wrn.teacher_bank`); None
            runs the teacher.
        teacher_bn_stats: ``'running'`` (default): the teacher's BN uses its
            running statistics; ``'batch'``: while training, the
            statistics of each batch (the running buffers stay as loaded).
        data_preprocessor: Defaults to the student's.
        init_cfg: Weight init config of the algorithm.

    Raises:
        CheckpointError: ``teacher_ckpt`` is missing (the message says how
            to get one), unreadable, unsafe, or does not fit the teacher.
        ValueError: a distillation loss name does not start with
            ``loss_``, or ``teacher_bn_stats`` is neither ``'running'`` nor
            ``'batch'``.
    """

    def __init__(self,
                 architecture: Union[BaseModel, Dict],
                 teacher: Union[BaseModel, Dict],
                 distiller: Dict,
                 teacher_ckpt: Optional[str] = None,
                 calculate_student_loss: bool = True,
                 dry_run_shape: Optional[Tuple[int, int, int]] = (3, 32, 32),
                 teacher_bank: Optional[Dict] = None,
                 teacher_bn_stats: str = 'running',
                 data_preprocessor: Optional[Union[Dict, torch.nn.Module]] = None,
                 init_cfg: Optional[Dict] = None) -> None:
        if teacher_bn_stats not in TEACHER_BN_STATS:
            raise ValueError(
                f'teacher_bn_stats must be one of {TEACHER_BN_STATS}, got '
                f'{teacher_bn_stats!r}.')
        if isinstance(architecture, dict):
            architecture = MODELS.build(architecture)
        # The distiller (connectors) is built before the teacher, as in
        # mmrazor, so seeded runs draw the same initial weights; a teacher
        # built on the meta device tells its channels without drawing any.
        probe = teacher
        if isinstance(teacher, dict):
            with torch.device('meta'):
                probe = MODELS.build(teacher)
        # The parent's own teacher loading (not strict, not refusing unsafe
        # files) is not used: teacher_ckpt is loaded below.
        super().__init__(
            distiller=fill_connector_channels(distiller, architecture, probe),
            teacher=teacher,
            teacher_ckpt=None,
            teacher_trainable=False,
            teacher_norm_eval=True,
            student_trainable=True,
            calculate_student_loss=calculate_student_loss,
            architecture=architecture,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        bad_names = [name for name in self.distiller.distill_losses
                     if not name.startswith('loss_')]
        if bad_names:
            raise ValueError(
                f'Distillation loss names must start with "loss_" so '
                f'mmengine adds them to the total loss; rename {bad_names}.')
        self.teacher_ckpt = teacher_ckpt
        self.teacher_bn_stats = teacher_bn_stats
        if teacher_ckpt:
            load_teacher_ckpt(self.teacher, teacher_ckpt)
        if hasattr(self.distiller, 'init_ofd_connectors'):
            self.distiller.init_ofd_connectors(self.teacher)
        # Set after the shape check, which must run the real teacher.
        self.teacher_bank = None
        if dry_run_shape is not None:
            self._check_shapes(dry_run_shape)
        if teacher_bank is not None:
            check_logit_only(self.distiller)
            self.teacher_bank = TeacherBank(**teacher_bank)

    def _check_shapes(self, image_shape: Tuple[int, int, int]) -> None:
        """Run teacher, student and every distill loss once on two zero
        images, so a connector whose channels do not fit the recorded
        features fails here with the loss named, not at iteration one."""
        was_training = self.training
        self.eval()
        inputs = torch.zeros(2, *image_shape)
        # Dataset indices as a loader gives them (CRD's memory bank reads
        # them; in eval mode no bank changes).
        samples = [DataSample(metainfo=dict(sample_idx=i)).set_gt_label(0)
                   for i in range(2)]
        try:
            with torch.no_grad():
                self.loss(inputs, samples)
        except RuntimeError as error:
            raise ValueError(
                'The distiller does not fit these teacher/student models: '
                f'{error}\nCheck each connector\'s in/out channels against '
                'the recorded features (see the distill config\'s '
                'connectors and recorders).') from error
        finally:
            self.train(was_training)

    def init_weights(self) -> None:
        """Initialise the student and the connectors; keep a loaded
        teacher's weights (the Runner calls this before training)."""
        teacher_state = {
            k: v.clone() for k, v in self.teacher.state_dict().items()
        } if self.teacher_ckpt else None
        super().init_weights()
        if teacher_state is not None:
            self.teacher.load_state_dict(teacher_state)
        # OFD margins derive from the teacher's BN, which may be new now.
        if hasattr(self.distiller, 'init_ofd_connectors'):
            self.distiller.init_ofd_connectors(self.teacher)

    def loss(self, batch_inputs: torch.Tensor,
             data_samples: Optional[List[BaseDataElement]] = None
             ) -> Dict[str, torch.Tensor]:
        """The student's task loss and every distillation term.

        The teacher runs first, without gradients (in eval mode, see
        :meth:`train`), filling the teacher recorders; then the student
        computes its own loss, filling the student recorders; then the
        distiller computes each term from the recorded features (Hinton KD:
        ``HintonKDLoss`` of the two ``head.fc`` outputs, see
        ``configs/_base_/distillers/hinton_kd.py``). With a teacher bank the
        teacher's logits are gathered from the bank for the batch's views
        instead of a teacher pass.

        Replaces the parent's ``loss``, which runs the teacher in ``loss``
        mode and names the terms ``student.*`` and ``distill.*``.

        Args:
            batch_inputs: Preprocessed images ``(N, C, H, W)``.
            data_samples: ``N`` samples with ``gt_label``.

        Returns:
            dict[str, torch.Tensor]: Scalar losses: ``loss_student`` (the
            student head's loss, already weighted by its ``loss_weight``;
            absent when ``calculate_student_loss=False``) and the
            distiller's ``loss_*`` terms, each weighted by its loss module
            (absent once ``distillation_stopped``). mmengine sums them.
        """
        if self.teacher_bank is not None:
            self.teacher_bank.record(self, batch_inputs, data_samples)
        else:
            # Deliveries record in the teacher pass, replay in the student's.
            self.distiller.set_deliveries_override(False)
            with self.distiller.teacher_recorders, \
                    self.distiller.deliveries, torch.no_grad(), \
                    self._teacher_norm():
                self.teacher(batch_inputs, data_samples, mode='tensor')
        self.distiller.set_deliveries_override(True)
        with self.distiller.student_recorders, self.distiller.deliveries:
            student_losses = self.student(
                batch_inputs, data_samples, mode='loss')
        losses = {}
        if self.calculate_student_loss:
            for name, value in student_losses.items():
                losses[name.replace('loss', 'loss_student', 1)] = value
        if not self.distillation_stopped:
            losses.update(self.distiller.compute_distill_losses())
        return losses

    def _teacher_norm(self) -> ContextManager[None]:
        """The context of the teacher's pass: batch statistics while
        training if ``teacher_bn_stats='batch'``, else nothing changes."""
        if self.training and self.teacher_bn_stats == 'batch':
            return batch_norm_from_batch(self.teacher)
        return nullcontext()

    def train(self, mode: bool = True) -> 'FrozenTeacherDistill':
        """Set the student and connectors to ``mode``; the teacher always
        stays in eval mode, dropout included (the parent's ``train`` puts
        only the teacher's BatchNorm in eval mode)."""
        super().train(mode)
        self.teacher.eval()
        return self
