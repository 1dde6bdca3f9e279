"""Validation on tensor batches: scores stay on the device and are read back
once per evaluation.

mmengine's ``ValLoop`` makes one ``DataSample`` per image and mmpretrain's
``Accuracy.process`` copies each image's scores and label to the host
(two small device-to-host copies per image, each a GPU sync: about 3 ms per
batch of 128). For a device-resident loader (``DeviceTensorLoader``), or a
standard loader whose pipeline lets its workers make whole batches from
arrays of the split (``[PackInputs]``, the configs' evaluation pipeline:
:class:`~.loader_tensor_batches.LoaderTensorBatches`), and accuracy
metrics, :class:`TensorBatchValidation` runs the classifier on tensor
batches, keeps the softmax scores on the device, reads them back once, and
hands the metrics the per-image results they would have built: the same
numbers (the scores are the head's ``predict`` scores,
``softmax(logits)``), the same hooks around every batch. Anything else
(another pipeline, another metric) runs mmengine's loop unchanged.
"""
from typing import Dict, Iterator, List, Optional

import torch
import torch.nn.functional as F
from mmengine.model import is_model_wrapper
from mmengine.registry import LOOPS
from mmengine.runner import ValLoop, autocast
from mmpretrain.evaluation import Accuracy
from torch.utils.data import DataLoader

from razor_wrn.datasets.device_cifar import DeviceTensorLoader
from .loader_tensor_batches import LoaderTensorBatches


class TensorBatchValidation:
    """Mixin for a ``ValLoop`` subclass: :meth:`run` on tensor batches where
    the loader and metrics allow it (see the module docstring)."""

    def run(self) -> Dict[str, float]:
        if not self.runs_on_tensors():
            return super().run()
        runner = self.runner
        runner.call_hook('before_val')
        runner.call_hook('before_val_epoch')
        runner.model.eval()
        self.val_loss.clear()
        self.start_tensor_epoch()
        for idx, batch in enumerate(self.tensor_batches()):
            self.run_tensor_iter(idx, batch)
        results = self.results_of(*self._seen)
        self.start_tensor_epoch()
        for metric in self.evaluator.metrics:
            metric.results.extend(results)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        runner.call_hook('after_val_epoch', metrics=metrics)
        runner.call_hook('after_val')
        return metrics

    def start_tensor_epoch(self) -> None:
        """Forget the scores and labels kept by :meth:`run_tensor_iter`."""
        self._seen = ([], [])

    def tensor_batches(self) -> Iterator[Dict[str, torch.Tensor]]:
        """An epoch of this loop's loader as ``dict(inputs=uint8 (B, C, H,
        W), labels=int64 (B,))`` on the model's device."""
        device = next(self.runner.model.parameters()).device
        return self._loader_batches().epoch(self.dataloader, device)

    def run_tensor_iter(self, idx: int,
                        batch: Dict[str, torch.Tensor]) -> None:
        """One validation iteration on a tensor batch: the hooks around
        the scores of its images, kept on the device until the epoch ends.

        Args:
            idx (int): Index of the batch in its epoch.
            batch (dict): ``inputs`` uint8 ``(B, C, H, W)`` and ``labels``
                int64 ``(B,)``.
        """
        runner = self.runner
        runner.call_hook('before_val_iter', batch_idx=idx, data_batch=batch)
        if '_seen' not in self.__dict__:
            self.start_tensor_epoch()
        self._seen[0].append(self._scores(batch['inputs']))
        self._seen[1].append(batch['labels'])
        runner.call_hook('after_val_iter', batch_idx=idx, data_batch=batch,
                         outputs=[])

    def runs_on_tensors(self) -> bool:
        """Whether :meth:`run` takes the tensor path: a device-resident
        loader or a standard one whose batches are made whole, and only
        mmpretrain ``Accuracy`` metrics (which read the scores and labels
        alone)."""
        if not all(type(metric) is Accuracy
                   for metric in self.evaluator.metrics):
            return False
        return isinstance(self.dataloader, DeviceTensorLoader) or \
            self._loader_batches().makes_whole(self.dataloader)

    def worker_loaders(self) -> List[DataLoader]:
        """The loaders built beside this loop's (their workers are stopped
        with the Runner's: ``stop_loader_workers``)."""
        return self._loader_batches().worker_loaders()

    def _loader_batches(self) -> LoaderTensorBatches:
        # A mixin: made on first use rather than in ValLoop's __init__.
        if '_tensor_batches' not in self.__dict__:
            self._tensor_batches = LoaderTensorBatches()
        return self._tensor_batches

    @staticmethod
    def results_of(scores: List[torch.Tensor],
                   labels: List[torch.Tensor]) -> List[Dict]:
        """The per-image results mmpretrain's ``Accuracy.process`` builds,
        from an epoch's kept ``(B, classes)`` scores and ``(B,)`` labels,
        read back to the host in one copy each."""
        scores = torch.cat(scores).cpu()
        labels = torch.cat(labels).cpu()
        return [dict(pred_score=score, gt_label=label)
                for score, label in zip(scores, labels.split(1))]

    @torch.no_grad()
    def _scores(self, inputs: torch.Tensor,
                classifier: Optional[torch.nn.Module] = None) -> torch.Tensor:
        """Softmax scores ``(B, classes)`` of ``classifier`` (by default
        the model, or a distiller's student) for uint8 images ``(B, C, H,
        W)``, as its head's ``predict`` gives them."""
        model = self.runner.model
        if is_model_wrapper(model):
            model = model.module
        if classifier is None:
            classifier = getattr(model, 'student', model)
        with autocast(enabled=self.fp16):
            data = model.data_preprocessor(dict(inputs=inputs), False)
            logits = classifier(data['inputs'], mode='tensor')
        return F.softmax(logits, dim=1)


@LOOPS.register_module()
class TensorValLoop(TensorBatchValidation, ValLoop):
    """mmengine's ``ValLoop``, on tensor batches where it can be (see
    :class:`TensorBatchValidation`); the default validation loop of the
    configs (``val_cfg = dict(type='TensorValLoop')``)."""
