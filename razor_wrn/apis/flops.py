"""Parameters and multiply-accumulates (MACs) of a config's classifiers:
what ``tools/analysis_tools/get_flops.py`` runs, and what
``tools/reproduce.py`` tabulates.

A vanilla config has one classifier (`model`); a distillation config has the
student (`model.architecture`) and the teacher (`model.teacher`), both built
from the config without weights, so nothing is downloaded. The whole
classifier is counted (backbone, neck and head, on one image), with
mmengine's counter (fvcore's): one fused multiply-add counts as one, an
affine BatchNorm in eval mode as two per element (scale, shift), the
global average pooling as one per input element; ReLU and the residual
additions are not counted. Connectors and distillation losses are
training-only and not counted.
"""
import argparse
from typing import Dict, List, NamedTuple, Optional, Tuple

import torch
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.config import Config
from mmpretrain.registry import MODELS
from torch import nn

import razor_wrn  # noqa: F401  (compat shim, registries)
from razor_wrn.cli import (UserError, add_run_arguments, load_config,
                           parse_run_args)
from razor_wrn.tool_parser import ToolParser


class Complexity(NamedTuple):
    """Size and cost of one classifier on one image."""
    params: int
    macs: int


class _Logits(nn.Module):
    """An ImageClassifier as ``images (N, 3, H, W) -> logits (N, classes)``
    (the counter traces ``forward`` with one tensor)."""

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        self.classifier = classifier

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.classifier(inputs, mode='tensor')


def classifier_configs(cfg: Config) -> Dict[str, dict]:
    """The classifiers of a config by role.

    Returns:
        dict: ``{'model': cfg.model}`` for a vanilla config,
        ``{'student': ..., 'teacher': ...}`` for a distillation config
        (one with ``model.architecture`` and ``model.teacher``).
    """
    model = cfg.model
    if 'architecture' in model and 'teacher' in model:
        return dict(student=model.architecture, teacher=model.teacher)
    return dict(model=model)


def complexity(model_cfg: dict, shape: Tuple[int, int]) -> Complexity:
    """Count the parameters and MACs of the classifier ``model_cfg``.

    Args:
        model_cfg (dict): An mmpretrain classifier config.
        shape (tuple[int, int]): Input height and width in pixels.

    Returns:
        Complexity: All parameters, and the MACs of one ``(1, 3, H, W)``
        forward pass in eval mode.
    """
    model = _Logits(MODELS.build(model_cfg)).eval()
    # mmengine's FlopAnalyzer counts one multiply-add as one "flop". Its
    # warnings name what the docstring above already says is not counted
    # (additions) and the training-only loss module.
    analyzer = FlopAnalyzer(model, torch.zeros(1, 3, *shape))
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    macs = analyzer.total()
    return Complexity(params=parameter_count(model)[''], macs=int(macs))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = ToolParser(
        description='Parameters and MACs of the classifiers of a config')
    parser.add_argument('config', help='vanilla or distillation config')
    parser.add_argument(
        '--shape', type=int, nargs='+', default=[32, 32],
        help='input size: H W, or one number for a square (default 32 32)')
    add_run_arguments(parser, 'model.backbone.depth=22')
    return parse_run_args(parser, argv)


def input_size(shape: List[int]) -> Tuple[int, int]:
    """``--shape`` as ``(H, W)``.

    Raises:
        UserError: If ``shape`` has neither one nor two positive sizes.
    """
    if len(shape) not in (1, 2) or min(shape) <= 0:
        raise UserError(f'--shape {shape}: give H W or one size, e.g. '
                        '--shape 32 32.')
    return (shape[0], shape[-1])


def main(argv: Optional[List[str]] = None) -> Dict[str, Complexity]:
    args = parse_args(argv)
    shape = input_size(args.shape)
    cfg = load_config(args.config, args.cfg_options)
    results = {
        role: complexity(model_cfg, shape)
        for role, model_cfg in classifier_configs(cfg).items()
    }
    print(f'{args.config}, input 3x{shape[0]}x{shape[1]}:')
    for role, result in results.items():
        print(f'{role:>8}: {result.params:,} parameters '
              f'({result.params / 1e6:.2f} M), {result.macs:,} MACs '
              f'({result.macs / 1e6:.1f} M)')
    return results
