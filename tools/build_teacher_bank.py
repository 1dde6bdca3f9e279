"""Run a distillation config's frozen teacher over all views of every
training image and store its logits in a teacher bank.

    python tools/build_teacher_bank.py CONFIG --out BANK
        [--teacher-ckpt PATH] [--dtype float32|float16] [--device cpu|cuda]
        [--batch-size N] [--cfg-options k=v ...]

The views are those of the config's train pipeline (``SeededRandomCropFlip``:
every crop offset, flipped and not; 162 per 32x32 image with padding 4),
preprocessed by the model's data preprocessor as in training. Interrupted
builds resume: run the same command again. Train from the bank with
``--cfg-options model.teacher_bank.path=BANK model.teacher_bank.mode=read``.
"""
import argparse
import time
from typing import List, Optional

import razor_wrn  # noqa: F401  (compat shim, safe loading, registries)
import numpy as np
import torch
from mmengine.registry import DATASETS, MODELS, init_default_scope
from mmengine.utils import ProgressBar

from razor_wrn.checkpoint import URL_SCHEMES, file_sha256
from razor_wrn.cli import UserError, add_cfg_options, load_config, run_cli
from razor_wrn.datasets.crop_flip import crop_flip
from razor_wrn.errors import TeacherBankError
from razor_wrn.teacher_bank.bank_file import TeacherBankFile, view_count
from razor_wrn.teacher_bank.checks import (data_header, dataset_images,
                                           pipeline_views, teacher_header)
from razor_wrn.tool_parser import ToolParser


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = ToolParser(description='Build a teacher bank')
    parser.add_argument('config', help='distillation config')
    parser.add_argument('--out', required=True, help='bank folder to write')
    parser.add_argument('--teacher-ckpt',
                        help='teacher checkpoint (default: the config\'s '
                        'model.teacher_ckpt)')
    parser.add_argument('--dtype', choices=['float32', 'float16'],
                        default='float32', help='stored logits')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--batch-size', type=int, default=1024,
                        help='views per teacher forward')
    add_cfg_options(parser, 'train_dataloader.dataset.data_root=DIR')
    return parser.parse_args(argv)


def open_bank(out: str, header: dict) -> TeacherBankFile:
    """The bank at ``out``: resumed when it was built for the same run."""
    try:
        bank = TeacherBankFile(out, writable=True)
    except FileNotFoundError:
        return TeacherBankFile.create(out, header)
    mismatches = bank.mismatches(header)
    if bank.header['dtype'] != header['dtype']:
        mismatches['dtype'] = (bank.header['dtype'], header['dtype'])
    if mismatches:
        raise UserError(
            f'{out} holds a bank of another run ({mismatches}); pass '
            'another --out or delete it.')
    return bank


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise UserError('--device cuda: no CUDA device here; use --device '
                        'cpu.')
    if args.batch_size < 1:
        raise UserError(f'--batch-size must be >= 1, got {args.batch_size}.')
    cfg = load_config(args.config, args.cfg_options)
    if args.teacher_ckpt:
        cfg.model.teacher_ckpt = args.teacher_ckpt
    if not cfg.model.get('teacher_ckpt'):
        raise UserError('A bank needs the trained teacher: pass '
                        '--teacher-ckpt PATH.')
    cfg.model.pop('teacher_bank', None)
    init_default_scope(cfg.get('default_scope', 'mmrazor'))
    algorithm = MODELS.build(cfg.model).to(args.device).eval()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    try:
        views = pipeline_views(dataset.pipeline.transforms)
    except TeacherBankError as error:
        raise UserError(str(error)) from None
    images, labels = dataset_images(dataset)
    if views['crop_size'] != images.shape[1] or \
            images.shape[1] != images.shape[2]:
        raise UserError('The bank builder takes square crops of the '
                        f'image\'s own size; got crop {views["crop_size"]} '
                        f'of {images.shape[1:3]} images.')
    ckpt = cfg.model.teacher_ckpt
    header = dict(
        teacher_header(algorithm), **data_header(images, labels, views),
        dtype=args.dtype, split=cfg.train_dataloader.dataset.get('split'),
        teacher_ckpt=ckpt, teacher_ckpt_sha256=None
        if ckpt.startswith(URL_SCHEMES) else file_sha256(ckpt))
    bank = open_bank(args.out, header)
    build(algorithm, bank, images, views['padding'], args.batch_size,
          args.device)


@torch.no_grad()
def build(algorithm, bank: TeacherBankFile, images: np.ndarray,
          padding: int, batch_size: int, device: str) -> None:
    """Fill every image of ``bank`` not yet complete, a few images per
    teacher forward, flushing at least every 30 s."""
    n_y, n_x = view_count(images.shape[1:3], images.shape[1], padding)
    grid = torch.tensor([(oy, ox, flip) for oy in range(n_y)
                         for ox in range(n_x) for flip in (0, 1)])
    num_views = len(grid)
    todo = np.flatnonzero(~bank.filled.all(axis=1))
    print(f'{bank.path}: {len(images) - len(todo)} of {len(images)} images '
          f'done, {len(todo)} to go ({num_views} views each).')
    per_step = max(1, batch_size // num_views)
    progress = ProgressBar(len(todo))
    flushed = time.monotonic()
    for start in range(0, len(todo), per_step):
        rows = todo[start:start + per_step]
        batch = torch.from_numpy(images[rows]).permute(0, 3, 1, 2).to(device)
        batch = crop_flip(batch.repeat_interleave(num_views, 0),
                          grid[:, :2].repeat(len(rows), 1).to(device),
                          grid[:, 2].bool().repeat(len(rows)).to(device),
                          padding)
        inputs = algorithm.data_preprocessor(
            dict(inputs=batch, data_samples=None), False)['inputs']
        logits = algorithm.teacher(inputs, mode='tensor')
        bank.logits[rows] = logits.view(len(rows), num_views, -1).cpu() \
            .numpy()
        bank.filled[rows] = True
        progress.update(len(rows))
        if time.monotonic() - flushed > 30:
            bank.flush()
            flushed = time.monotonic()
    bank.flush()
    print(f'\nWrote {bank.path}.')


if __name__ == '__main__':
    run_cli(main)
