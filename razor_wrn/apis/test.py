"""What ``tools/test.py`` runs: its command line (:func:`parse_args`) and
the evaluation of a checkpoint (:func:`main`; with a distillation config,
the student, loaded strictly).

Here, not in the script, so that other tools (``tools/reproduce.py``) call
it by import.
"""
import argparse
import logging
import os
import os.path as osp
import shutil
from typing import List, Optional, Set

import mmengine
from mmengine.dist import is_main_process
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

import razor_wrn  # noqa: F401  (compat shim, safe loading, registries)
from razor_wrn.checkpoint import (load_checkpoint_file,
                                  load_weights_strictly, state_dict_of)
from razor_wrn.errors import CIFARDataError
from razor_wrn.created_folders import missing_folders, remove_empty_folders
from razor_wrn.engine.loader_workers import stop_loader_workers
from razor_wrn.cli import (UserError, add_run_arguments, build_runner,
                           default_work_dir, load_config, parse_run_args,
                           writable_dir)
from razor_wrn.tool_parser import ToolParser


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = ToolParser(description='Evaluate a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file path or URL')
    parser.add_argument(
        '--work-dir', help='where the evaluation logs go')
    parser.add_argument(
        '--out', help='write the metrics (or predictions) to this file')
    parser.add_argument(
        '--out-item', choices=['metrics', 'pred'], default='metrics',
        help="what --out holds: the metrics as JSON/YAML/pickle by the "
        "file's extension, or the raw predictions (pickle)")
    add_run_arguments(parser, 'test_dataloader.batch_size=64')
    return parse_run_args(parser, argv)


def _remove_what_the_run_wrote(runner: Optional[Runner],
                               before: Optional[Set[str]],
                               made: List[str]) -> None:
    """Take back what a run that failed before its test created.

    Removes the Runner's log folder and config dump where they were not in
    the work dir before, then the folders the run created, where empty.
    Without a Runner (it failed before or while being built), only the
    folders, where empty: a Runner that failed while being built keeps its
    log folder, which says how far it got.

    Args:
        runner (Runner, optional): The Runner, if it was built; its log
            file is closed before its folder goes.
        before (set[str], optional): The names in the work dir before the
            Runner was built; None: the work dir was not looked at.
        made (list[str]): The folders the run created
            (:func:`~razor_wrn.created_folders.missing_folders`).
    """
    # Only the main process writes the log file and the config dump, and
    # the other processes of a run fail at the same step.
    if not is_main_process():
        return
    if runner is not None and before is not None:
        for handler in list(runner.logger.handlers):
            if isinstance(handler, logging.FileHandler):
                handler.close()
                runner.logger.removeHandler(handler)
        # mmengine's dump_config names the dump so.
        dump = osp.basename(runner.cfg.filename) if runner.cfg.filename \
            else f'{runner.timestamp}.py'
        if osp.basename(runner.log_dir) not in before:
            shutil.rmtree(runner.log_dir, ignore_errors=True)
        if dump not in before and osp.isfile(
                osp.join(runner.work_dir, dump)):
            os.remove(osp.join(runner.work_dir, dump))
    remove_empty_folders(made)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(
        args.config)
    # Loaded strictly below instead: the Runner's own loading only warns
    # when keys or shapes do not match.
    cfg.load_from = None
    cfg.resume = False
    if 'teacher_ckpt' in cfg.model:
        # A distillation checkpoint carries the teacher's weights itself.
        cfg.model.teacher_ckpt = None
    if args.out and args.out_item == 'pred':
        evaluators = cfg.test_evaluator
        if not isinstance(evaluators, (list, tuple)):
            evaluators = [evaluators]
        cfg.test_evaluator = [
            *evaluators,
            dict(type='DumpResults', out_file_path=args.out)
        ]
    if args.out and args.out_item == 'metrics' and osp.splitext(
            args.out)[1] not in ('.json', '.yaml', '.yml', '.pkl', '.pickle'):
        raise UserError(
            f'--out {args.out!r}: use a .json, .yaml or .pkl file name.')

    # A run that fails before its test starts (a checkpoint that does not
    # fit the model, or is missing; test data that is missing or damaged)
    # takes back the folders and files it created, never what was there
    # before: a wrong checkpoint used to leave a work dir with a log folder
    # that looked like a run's.
    made = missing_folders(cfg.work_dir)
    before: Optional[Set[str]] = None
    runner: Optional[Runner] = None
    try:
        writable_dir(cfg.work_dir, '--work-dir')
        before = set(os.listdir(cfg.work_dir))
        if args.out:
            out_dir = osp.dirname(osp.abspath(args.out))
            made += missing_folders(out_dir)
            writable_dir(out_dir, '--out folder')
        checkpoint = load_checkpoint_file(args.checkpoint)
        runner = build_runner(cfg)
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        load_weights_strictly(model, state_dict_of(checkpoint,
                                                   args.checkpoint),
                              args.checkpoint)
    except BaseException:
        _remove_what_the_run_wrote(runner, before, made)
        raise
    try:
        try:
            metrics = runner.test()
        finally:
            stop_loader_workers(runner)
    except (UserError, CIFARDataError):
        # The test data is missing or damaged: the same as above.
        _remove_what_the_run_wrote(runner, before, made)
        raise
    if args.out and args.out_item == 'metrics' and is_main_process():
        mmengine.dump(metrics, args.out)
        runner.logger.info(f'Metrics written to {args.out}')
