"""Export a classifier, or the student of a distillation checkpoint, to ONNX
and check it with onnxruntime against PyTorch.

    python tools/deployment/export_onnx.py CONFIG CHECKPOINT --out student.onnx
        [--data-root data/cifar10] [--num-images 1000] [--atol 1e-4]
        [--cfg-options k=v ...]

The ONNX model takes ``images``: float32, RGB, NCHW, pixel values 0-255
(a CIFAR image as stored, cast to float), any batch size; it returns
``logits`` (N, classes). The config's data preprocessing (mean/std, channel
order) is folded into the graph. With a distillation config the student
(``model.architecture``) is exported; the checkpoint may be a distillation
checkpoint (student keys under ``architecture.``) or a plain one.

The check runs both on the first ``--num-images`` test images of
``--data-root`` (random pixels without it), PyTorch through the config's own
data preprocessor, and prints the largest absolute logit difference and the
top-1 agreement; it fails when the difference exceeds ``--atol``.
"""
import argparse
from typing import Dict, List, Optional, Tuple

import numpy as np
import onnxruntime
import torch
from mmpretrain.registry import DATASETS, MODELS
from torch import nn

import razor_wrn  # noqa: F401  (compat shim, safe loading, registries)
from razor_wrn.checkpoint import (load_checkpoint_file,
                                  load_weights_strictly, state_dict_of)
from razor_wrn.cli import (UserError, add_run_arguments, load_config,
                           parse_run_args, run_cli)
from razor_wrn.tool_parser import ToolParser

STUDENT_PREFIX = 'architecture.'


class PixelsToLogits(nn.Module):
    """A classifier with its data preprocessing in front.

    Args:
        classifier (nn.Module): An mmpretrain ImageClassifier with a
            ``ClsDataPreprocessor`` (``mean``/``std`` in pixel units and
            ``to_rgb``, as configs/_base_/models/wrn_cifar10.py sets them).

    Raises:
        UserError: If the preprocessor does not normalise.
    """

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        self.classifier = classifier
        preprocessor = classifier.data_preprocessor
        if not getattr(preprocessor, '_enable_normalize', False):
            raise UserError('The config\'s data_preprocessor sets no mean/std;'
                            ' this exporter folds in a ClsDataPreprocessor '
                            'with both.')
        self.flip_channels = bool(preprocessor.to_rgb)
        self.register_buffer('mean', preprocessor.mean.clone())
        self.register_buffer('std', preprocessor.std.clone())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``images`` (N, 3, H, W), float 0-255 RGB -> logits (N, classes)."""
        if self.flip_channels:
            images = images.flip(1)
        return self.classifier((images - self.mean) / self.std, mode='tensor')


def build_classifier(cfg, checkpoint: str) -> nn.Module:
    """The config's classifier (the student of a distillation config) with
    the checkpoint's weights, loaded strictly, in eval mode.

    Raises:
        CheckpointError: If the checkpoint is unreadable or does not fit.
    """
    model_cfg = cfg.model.get('architecture', cfg.model)
    classifier = MODELS.build(model_cfg)
    state_dict = state_dict_of(load_checkpoint_file(checkpoint), checkpoint)
    if any(key.startswith(STUDENT_PREFIX) for key in state_dict):
        state_dict = {key[len(STUDENT_PREFIX):]: value
                      for key, value in state_dict.items()
                      if key.startswith(STUDENT_PREFIX)}
    load_weights_strictly(classifier, state_dict, checkpoint)
    return classifier.eval()


def export(model: PixelsToLogits, out: str) -> None:
    """Write ``model`` as one ONNX file with a dynamic batch dimension."""
    batch = torch.export.Dim('batch', min=1)
    # external_data=False: the weights inside the file (a WRN is far below
    # ONNX's 2 GB limit), so the file alone is the deliverable.
    torch.onnx.export(
        model.eval(), (torch.zeros(2, 3, 32, 32), ), out, dynamo=True,
        external_data=False,
        input_names=['images'], output_names=['logits'],
        dynamic_shapes={'images': {0: batch}}, verbose=False)


def test_images(cfg, data_root: Optional[str],
                num_images: int) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """``(images (N, 3, 32, 32) uint8 RGB, labels (N,) or None)``: the first
    ``num_images`` of the config's test set under ``data_root``, or random
    pixels (seed 0) without labels when ``data_root`` is None."""
    if data_root is None:
        rng = np.random.default_rng(0)
        return rng.integers(0, 256, (num_images, 3, 32, 32),
                            dtype=np.uint8), None
    dataset_cfg = cfg.test_dataloader.dataset.copy()
    dataset_cfg.update(data_root=data_root, pipeline=[], download=False)
    dataset = DATASETS.build(dataset_cfg)
    count = min(num_images, len(dataset))
    infos = [dataset.get_data_info(i) for i in range(count)]
    images = np.stack([info['img'].transpose(2, 0, 1) for info in infos])
    return images, np.array([info['gt_label'] for info in infos])


def compare(classifier: nn.Module, onnx_file: str, images: np.ndarray,
            batch_size: int = 100) -> Dict[str, float]:
    """Logits of PyTorch (the config's preprocessor, then the classifier)
    and of onnxruntime on ``images`` (N, 3, H, W) uint8, in batches.

    Returns:
        dict: ``max_abs_diff`` (logit units), ``top1_agreement`` (fraction
        of images with the same argmax), ``torch_logits``.
    """
    session = onnxruntime.InferenceSession(
        onnx_file, providers=['CPUExecutionProvider'])
    torch_logits, onnx_logits = [], []
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        with torch.no_grad():
            inputs = classifier.data_preprocessor(
                dict(inputs=torch.from_numpy(batch)), False)['inputs']
            torch_logits.append(classifier(inputs, mode='tensor').numpy())
        onnx_logits.append(session.run(
            ['logits'], {'images': batch.astype(np.float32)})[0])
    torch_logits = np.concatenate(torch_logits)
    onnx_logits = np.concatenate(onnx_logits)
    return dict(
        max_abs_diff=float(np.abs(torch_logits - onnx_logits).max()),
        top1_agreement=float(np.mean(
            torch_logits.argmax(1) == onnx_logits.argmax(1))),
        torch_logits=torch_logits)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = ToolParser(
        description='Export a classifier or distilled student to ONNX')
    parser.add_argument('config', help='vanilla or distillation config')
    parser.add_argument('checkpoint', help='checkpoint of that config')
    parser.add_argument('--out', required=True, help='ONNX file to write')
    parser.add_argument(
        '--data-root',
        help='CIFAR-10 data root for the check (random pixels without it)')
    parser.add_argument('--num-images', type=int, default=1000,
                        help='images for the check (default 1000)')
    parser.add_argument('--atol', type=float, default=1e-4,
                        help='largest allowed logit difference (1e-4)')
    add_run_arguments(parser, 'model.backbone.depth=10')
    return parse_run_args(parser, argv)


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    args = parse_args(argv)
    if args.num_images <= 0:
        raise UserError(f'--num-images {args.num_images}: give at least 1.')
    cfg = load_config(args.config, args.cfg_options)
    classifier = build_classifier(cfg, args.checkpoint)
    export(PixelsToLogits(classifier), args.out)
    images, labels = test_images(cfg, args.data_root, args.num_images)
    result = compare(classifier, args.out, images)
    logits = result.pop('torch_logits')
    print(f'Wrote {args.out}. On {len(images)} '
          f'{"test" if labels is not None else "random"} images: max abs '
          f'logit difference {result["max_abs_diff"]:.3g}, top-1 agreement '
          f'{100 * result["top1_agreement"]:.1f}%')
    if labels is not None:
        result['top1'] = float(np.mean(logits.argmax(1) == labels))
        print(f'PyTorch top-1 on these images: {100 * result["top1"]:.1f}%')
    if result['max_abs_diff'] > args.atol:
        raise UserError(
            f'onnxruntime differs from PyTorch by {result["max_abs_diff"]:.3g}'
            f' > --atol {args.atol}: the export is not faithful.')
    return result


if __name__ == '__main__':
    run_cli(main)
