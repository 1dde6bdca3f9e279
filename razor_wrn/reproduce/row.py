"""One run of a table row: train it (or resume it, or skip it when done),
evaluate its final checkpoint and count its classifier.

:func:`run_row` is what a ``--jobs`` process calls, by module and function
name (:mod:`razor_wrn.script_jobs`), so it takes and returns plain data.
"""
import argparse
import json
import os.path as osp
import time
from typing import Any, List, Sequence, Tuple

from mmengine.config import Config

from razor_wrn.apis import flops as get_flops
from razor_wrn.apis import test as test_tool
from razor_wrn.apis import train as train_tool
from razor_wrn.cli import UserError, load_config
from razor_wrn.config_options import ConfigOptionAction

# The run's training time, kept beside it so a resumed run adds to it.
TIMING_FILE = 'train_seconds.json'


def run_row(row: dict, work_dir: str, options: List[str],
            train_args: Sequence[str] = ()) -> dict:
    """Train (or resume, or skip) and evaluate one row.

    Args:
        row (dict): The table's row (``config`` is read).
        work_dir (str): The run's folder.
        options (list[str]): ``--cfg-options`` of training and evaluation.
        train_args (Sequence[str]): More arguments of tools/train.py for
            the training only (``--compile``, ``--amp bf16``,
            ``--channels-last``); the evaluation is the same either way.

    Returns:
        dict: ``top1``, ``top5`` (percent), ``params``, ``macs``,
        ``train_seconds`` (wall time of the training calls that finished,
        summed over resumes; the part of an interrupted call is not known)
        and ``checkpoint`` (the final one).

    Raises:
        UserError: If an option is malformed, or the tools refuse the
            config, the data or a checkpoint (and any error of a run).
    """
    cfg = load_config(row['config'], options_dict(options))
    checkpoint, metrics_file = final_files(cfg, work_dir)
    timing = osp.join(work_dir, TIMING_FILE)
    if not osp.isfile(checkpoint):
        resume = ['--resume'] if osp.isfile(
            osp.join(work_dir, 'last_checkpoint')) else []
        start = time.perf_counter()
        train_tool.main([row['config'], '--work-dir', work_dir, *resume,
                         *train_args, '--cfg-options', *options])
        seconds = time.perf_counter() - start
        if resume and osp.isfile(timing):
            seconds += _read_json(timing)
        with open(timing, 'w') as f:
            json.dump(seconds, f)
    if not osp.isfile(metrics_file):
        test_tool.main([row['config'], checkpoint, '--work-dir',
                        osp.join(work_dir, 'test'), '--out', metrics_file,
                        '--cfg-options', *options])
    metrics = _read_json(metrics_file)
    classifiers = get_flops.classifier_configs(cfg)
    size = get_flops.complexity(
        classifiers.get('student', classifiers.get('model')), (32, 32))
    return dict(top1=metrics['accuracy/top1'], top5=metrics['accuracy/top5'],
                params=size.params, macs=size.macs,
                train_seconds=_read_json(timing) if osp.isfile(timing)
                else None, checkpoint=checkpoint)


def final_files(cfg: Config, work_dir: str) -> Tuple[str, str]:
    """The final checkpoint and the metrics file of a row's run."""
    return (osp.join(work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth'),
            osp.join(work_dir, 'metrics.json'))


def is_finished(config: str, work_dir: str, options: List[str]) -> bool:
    """Whether the run of ``config`` in ``work_dir`` was trained and
    evaluated already.

    Raises:
        UserError: If the config cannot be loaded with ``options``.
    """
    cfg = load_config(config, options_dict(options))
    return all(map(osp.isfile, final_files(cfg, work_dir)))


def _read_json(path: str) -> Any:
    with open(path) as f:
        return json.load(f)


def options_dict(options: List[str]) -> dict:
    """``['k=v', ...]`` parsed as the tools parse ``--cfg-options``
    (:class:`ConfigOptionAction`: spaces and quoted commas stay in a value).

    Raises:
        UserError: If an option is not ``KEY=VALUE``.
    """
    parser = _OptionParser()
    parser.add_argument('--cfg-options', nargs='+',
                        action=ConfigOptionAction, default={})
    return parser.parse_args(
        ['--cfg-options', *options] if options else []).cfg_options


class _OptionParser(argparse.ArgumentParser):
    """A parser whose errors are a row's :class:`UserError`, not an exit
    of the whole table."""

    def error(self, message: str):
        raise UserError(message)
