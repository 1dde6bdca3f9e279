"""Contrastive representation distillation (CRD) with a memory bank.

Tian, Krishnan & Isola, "Contrastive Representation Distillation", ICLR
2020, https://arxiv.org/abs/1910.10699. Reference implementation:
https://github.com/HobbitLong/RepDistiller (``crd/criterion.py``,
``crd/memory.py``). The embedding heads (linear + L2 norm) are mmrazor's
``CRDConnector``; this file holds the NCE objective and the memory bank.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import all_gather, get_world_size
from mmengine.structures import BaseDataElement
from mmrazor.registry import MODELS


def exp_scores(anchors: torch.Tensor, memory: torch.Tensor,
               indices: torch.Tensor, temperature: float) -> torch.Tensor:
    """``exp(m_j . v / T)`` of each anchor ``v`` against memory rows ``m_j``.

    Args:
        anchors (torch.Tensor): Embeddings, shape (N, D), unit L2 norm.
        memory (torch.Tensor): The other network's bank, shape (M, D);
            detached here (the bank is no parameter).
        indices (torch.Tensor): Rows to contrast with, shape (N, K + 1),
            the positive (the anchor's own sample) in column 0.
        temperature (float): T, 0.07 in the paper.

    Returns:
        torch.Tensor: Shape (N, K + 1).
    """
    # Scoring the whole bank and picking K + 1 columns moves far less
    # memory than gathering the (N, K + 1, D) rows first (about 10x faster
    # on CPU at K = 16384, M = 50,000); the values are the same.
    scores = anchors @ memory.detach().t()  # (N, M)
    return torch.exp(scores.gather(1, indices) / temperature)


def nce_loss(probabilities: torch.Tensor, num_samples: int,
             eps: float = 1e-7) -> torch.Tensor:
    """The NCE objective of CRD (the paper's Eq. 18), batch mean.

    With K negatives drawn uniformly from M samples, the noise has
    probability ``K / M``; ``h = P / (P + K / M)`` is the posterior that a
    pair came from the data. The loss is ``-(log h(pos) + sum log(1 -
    h(neg)))`` per anchor.

    Args:
        probabilities (torch.Tensor): Shape (N, K + 1), positive first.
        num_samples (int): M, the size of the training set.
        eps (float): Keeps the logs finite. Defaults to 1e-7.

    Returns:
        torch.Tensor: Scalar loss.
    """
    noise = (probabilities.shape[1] - 1) / num_samples
    positive, negatives = probabilities[:, 0], probabilities[:, 1:]
    log_h_pos = torch.log(positive / (positive + noise + eps))
    log_h_neg = torch.log(noise / (negatives + noise + eps))
    return -(log_h_pos.sum() + log_h_neg.sum()) / probabilities.shape[0]


def crd_loss(s_embed: torch.Tensor, t_embed: torch.Tensor,
             memory_student: torch.Tensor, memory_teacher: torch.Tensor,
             indices: torch.Tensor, normalizers: torch.Tensor,
             temperature: float = 0.07, eps: float = 1e-7) -> torch.Tensor:
    """CRD's symmetric loss for fixed banks and contrast indices.

    ``nce(exp_scores(s, teacher bank) / Z_s) + nce(exp_scores(t, student
    bank) / Z_t)``: each network's embedding is the anchor against the
    other network's memory (``crd/memory.py``'s ``out_v1``, ``out_v2``).

    Args:
        s_embed (torch.Tensor): Student embeddings, shape (N, D).
        t_embed (torch.Tensor): Teacher embeddings, shape (N, D).
        memory_student (torch.Tensor): Student bank, shape (M, D).
        memory_teacher (torch.Tensor): Teacher bank, shape (M, D).
        indices (torch.Tensor): Shape (N, K + 1), positives in column 0.
        normalizers (torch.Tensor): (Z_s, Z_t), shape (2,): the estimates
            of the sum of ``exp(m . v / T)`` over all M rows that turn the
            scores into probabilities (the paper's Eq. 19).
        temperature (float): T. Defaults to 0.07.
        eps (float): See :func:`nce_loss`. Defaults to 1e-7.

    Returns:
        torch.Tensor: Scalar loss.
    """
    num_samples = memory_student.shape[0]
    p_s = exp_scores(s_embed, memory_teacher, indices, temperature)
    p_t = exp_scores(t_embed, memory_student, indices, temperature)
    return (nce_loss(p_s / normalizers[0], num_samples, eps) +
            nce_loss(p_t / normalizers[1], num_samples, eps))


def momentum_update(memory: torch.Tensor, indices: torch.Tensor,
                    embeddings: torch.Tensor,
                    momentum: float) -> torch.Tensor:
    """The bank with ``m_i <- normalize(momentum * m_i + (1 - momentum) *
    v_i)`` for the batch's rows.

    Args:
        memory (torch.Tensor): Bank, shape (M, D); left unchanged.
        indices (torch.Tensor): Sample indices, shape (N,), distinct.
        embeddings (torch.Tensor): New embeddings, shape (N, D).
        momentum (float): Weight of the old entry, 0.5 in the paper.

    Returns:
        torch.Tensor: The new bank, shape (M, D).
    """
    mixed = momentum * memory[indices] + (1 - momentum) * embeddings.detach()
    # A new tensor, not an in-place write: the loss's backward still needs
    # the bank it was scored against.
    return memory.index_copy(0, indices, F.normalize(mixed, dim=1))


def other_class_negatives(anchor_labels: torch.Tensor,
                          sample_labels: torch.Tensor, num_negatives: int,
                          generator: Optional[torch.Generator] = None,
                          smallest_pool: Optional[int] = None
                          ) -> torch.Tensor:
    """Negatives as RepDistiller's 'exact' mode draws them: for each anchor,
    ``num_negatives`` training images of *other* classes, uniformly and
    without replacement (with replacement where fewer images than that are
    of other classes, as ``np.random.choice(..., replace=K > len(pool))``
    in RepDistiller's ``CIFAR100InstanceSample`` and MMRazor's CRD
    datasets).

    Args:
        anchor_labels (torch.Tensor): Class of each anchor, shape (N,).
        sample_labels (torch.Tensor): Class of each training image (memory
            bank row), shape (M,), on the same device.
        num_negatives (int): K.
        generator (torch.Generator, optional): Random source; the default
            generator of the device if None.
        smallest_pool (int, optional): The fewest images of other classes
            any anchor has (M minus the largest class's count), if known:
            when it is at least K nothing is read back to the host (on a
            GPU each read waits for the queued kernels).

    Returns:
        torch.Tensor: Bank rows, shape (N, K), long.

    Raises:
        ValueError: an anchor has no image of another class to draw from.
    """
    # Equal weights on the other classes' rows, zero on the anchor's own:
    # torch.multinomial without replacement draws a uniform K-subset.
    weights = (sample_labels[None, :] != anchor_labels[:, None]).float()
    if smallest_pool is not None and smallest_pool >= num_negatives:
        return torch.multinomial(weights, num_negatives, replacement=False,
                                 generator=generator)
    pool = weights.sum(1)
    if bool((pool == 0).any()):
        raise ValueError(
            'CRD needs images of other classes as negatives; the training '
            'set holds only one class.')
    short = pool < num_negatives
    if not bool(short.any()):
        return torch.multinomial(weights, num_negatives, replacement=False,
                                 generator=generator)
    negatives = torch.empty(len(weights), num_negatives, dtype=torch.long,
                            device=weights.device)
    for rows, replacement in ((~short, False), (short, True)):
        if bool(rows.any()):
            negatives[rows] = torch.multinomial(
                weights[rows], num_negatives, replacement=replacement,
                generator=generator)
    return negatives


def _sample_indices(data_samples: Sequence[BaseDataElement],
                    num_samples: int, device: torch.device) -> torch.Tensor:
    """The ``sample_idx`` of each sample, as a (N,) long tensor."""
    try:
        values = [sample.sample_idx for sample in data_samples]
    except AttributeError:
        raise ValueError(
            'CRD needs the dataset index of every image (`sample_idx` in '
            'each data sample\'s metainfo); this loader does not provide '
            'it.') from None
    if all(isinstance(v, torch.Tensor) for v in values):
        return torch.cat([v.reshape(1) for v in values]).to(device).long()
    if max(values) >= num_samples:
        raise ValueError(
            f'sample_idx {max(values)} is outside the memory bank of '
            f'{num_samples} samples: set num_samples to the size of the '
            'training set.')
    return torch.tensor(values, dtype=torch.long, device=device)


@MODELS.register_module()
class ContrastiveRepresentationLoss(nn.Module):
    """CRD's symmetric NCE loss with one memory bank per network.

    Each image's embeddings contrast with the other network's bank entry of
    the same image (positive) and of ``num_negatives`` images of other
    classes, drawn without replacement (:func:`other_class_negatives`):
    the 'exact' mode of RepDistiller's published CIFAR-100 setting, and
    the default of MMRazor's CRD datasets. The classes of the training
    images are given once by :meth:`bind_training_set` (``CRDTrainingSetHook``
    does it before training, checking ``num_samples`` against the training
    set). The loss is NCE with the teacher embedding
    as anchor over the student bank plus the same with the roles swapped.
    After the loss, in training mode only, the batch's entries move to the
    new embeddings with ``momentum``. The banks and the normalising
    constants Z (fixed from the first training batch, as in the reference
    code) are buffers, so checkpoints hold them and ``--resume`` continues
    them. With several processes, each bank takes every process's batch,
    so the banks stay identical.

    Args:
        num_samples (int): M, images in the training set (50,000 for
            CIFAR); every ``sample_idx`` must be below it.
        embed_dim (int): D, width of the embeddings. Defaults to 128.
        num_negatives (int): K per anchor. Defaults to 16384.
        temperature (float): T. Defaults to 0.07.
        momentum (float): Bank momentum. Defaults to 0.5.
        eps (float): See :func:`nce_loss`. Defaults to 1e-7.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 num_samples: int,
                 embed_dim: int = 128,
                 num_negatives: int = 16384,
                 temperature: float = 0.07,
                 momentum: float = 0.5,
                 eps: float = 1e-7,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.num_samples = num_samples
        self.num_negatives = num_negatives
        self.temperature = temperature
        self.momentum = momentum
        self.eps = eps
        self.loss_weight = loss_weight
        # The reference initialisation: uniform in +-1/sqrt(D/3), so each
        # row starts with an expected squared norm of 1.
        bound = (3 / embed_dim)**0.5
        for name in ('memory_student', 'memory_teacher'):
            self.register_buffer(
                name, torch.rand(num_samples, embed_dim) * 2 * bound - bound)
        # Z of (student anchors, teacher anchors); negative until set.
        self.register_buffer('normalizers', torch.full((2, ), -1.0))
        self._normalizers_set = False
        # The class of each bank row, from the training set; not saved in
        # checkpoints (the data set gives it again before each run).
        self.register_buffer('sample_labels', None, persistent=False)
        # Set with sample_labels (see other_class_negatives).
        self._smallest_pool: Optional[int] = None

    def bind_training_set(self, labels: torch.Tensor) -> None:
        """Take the class of every training image, which negatives are
        drawn by.

        Args:
            labels (torch.Tensor): Class of image ``i`` at ``i`` (the
                ``sample_idx`` the loader gives), shape (M,).

        Raises:
            ValueError: ``len(labels)`` is not ``num_samples``.
        """
        if len(labels) != self.num_samples:
            raise ValueError(
                f'CRD: the training set has {len(labels)} images but the '
                f'memory banks have num_samples={self.num_samples} rows; '
                'set model.distiller.distill_losses.loss_crd.num_samples='
                f'{len(labels)} (one row per training image; the NCE noise '
                'probability is num_negatives / num_samples).')
        self.sample_labels = torch.as_tensor(labels).to(
            self.memory_student.device, torch.long)
        # Read once here, so that drawing negatives reads nothing back.
        self._smallest_pool = len(labels) - int(
            torch.bincount(self.sample_labels).max())

    def forward(self, s_feats: torch.Tensor, t_feats: torch.Tensor,
                data_samples: Sequence[BaseDataElement]) -> torch.Tensor:
        """Weighted CRD loss of one batch; updates the banks when training.

        Args:
            s_feats (torch.Tensor): Student embeddings, shape (N, D), unit
                norm (the output of a ``CRDConnector``).
            t_feats (torch.Tensor): Teacher embeddings, shape (N, D).
            data_samples (Sequence[BaseDataElement]): The batch's samples,
                each with ``sample_idx`` (an int or a 1-element tensor).

        Returns:
            torch.Tensor: Scalar loss.

        Raises:
            ValueError: a sample has no ``sample_idx``, or an int one
                beyond ``num_samples`` (tensor indices, as a device-resident
                loader gives them, are not checked: that would cost a
                host-device sync per step); in training mode, the training
                set's classes were not given (:meth:`bind_training_set`).
        """
        indices = _sample_indices(data_samples, self.num_samples,
                                  s_feats.device)
        if self.sample_labels is not None:
            negatives = other_class_negatives(
                self.sample_labels[indices], self.sample_labels,
                self.num_negatives, smallest_pool=self._smallest_pool)
        elif self.training:
            raise ValueError(
                'CRD draws its negatives from other classes and needs the '
                'class of every training image: add default_hooks.'
                "crd_training_set=dict(type='CRDTrainingSetHook') (the CRD "
                'configs have it), or call bind_training_set.')
        else:
            # Outside training (the build-time shape check) no class is
            # known; any rows give the loss's shape.
            negatives = torch.randint(
                self.num_samples, (len(indices), self.num_negatives),
                device=s_feats.device)
        contrast = torch.cat([indices[:, None], negatives], dim=1)
        loss = crd_loss(s_feats, t_feats, self.memory_student,
                        self.memory_teacher, contrast,
                        self._normalizers(s_feats, t_feats, contrast),
                        self.temperature, self.eps)
        if self.training:
            with torch.no_grad():
                indices, s_new, t_new = _gathered(indices, s_feats, t_feats)
                self.memory_student = momentum_update(
                    self.memory_student, indices, s_new, self.momentum)
                self.memory_teacher = momentum_update(
                    self.memory_teacher, indices, t_new, self.momentum)
        return self.loss_weight * loss

    def _normalizers(self, s_feats: torch.Tensor, t_feats: torch.Tensor,
                     contrast: torch.Tensor) -> torch.Tensor:
        """(Z_s, Z_t): M times the mean score of the first training batch,
        kept from then on (a buffer restored from a checkpoint wins)."""
        if not self._normalizers_set:
            # One host read per process: resumed buffers hold Z already.
            self._normalizers_set = bool((self.normalizers > 0).all())
        if self._normalizers_set:
            return self.normalizers
        with torch.no_grad():
            estimate = self.num_samples * torch.stack([
                exp_scores(s_feats, self.memory_teacher, contrast,
                           self.temperature).mean(),
                exp_scores(t_feats, self.memory_student, contrast,
                           self.temperature).mean()])
        if get_world_size() > 1:
            estimate = torch.stack(all_gather(estimate)).mean(dim=0)
        if self.training:
            self.normalizers.copy_(estimate)
            self._normalizers_set = True
        return estimate

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        # Read Z from the loaded buffer at the next forward.
        self._normalizers_set = False


def _gathered(*tensors: torch.Tensor) -> Tuple[torch.Tensor, ...]:
    """Each tensor concatenated over all processes (itself if only one)."""
    if get_world_size() == 1:
        return tensors
    return tuple(torch.cat(all_gather(t.detach())) for t in tensors)
