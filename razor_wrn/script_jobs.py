"""Run functions of the package in processes of their own.

``tools/reproduce.py --jobs N`` trains up to N table rows at once, each in
its own process. The processes are forked from a forkserver that has
imported ``razor_wrn`` (torch, mmengine, mmpretrain, mmrazor) and the
modules the jobs call (:data:`PRELOAD`) once: a fresh interpreter per row
would pay those imports (seconds) every time, and forking the calling
process itself would copy whatever state it holds (a CUDA context cannot
cross a fork). What crosses to the child is pickled, so a job names its
function by module and name (:func:`run_function` imports the module by
name) and passes plain data; no file is loaded by its path.
"""
import importlib
import multiprocessing
import os
import os.path as osp
import sys
import traceback
from multiprocessing.connection import Connection
from typing import Any, Optional, Tuple

# What the forkserver imports before it forks a job: the package and what
# the jobs call (razor_wrn.reproduce.row's run_row trains, evaluates and
# counts with these apis modules). Only the parent draws the curves, so
# matplotlib (razor_wrn.apis.curves) is not preloaded.
PRELOAD = ('razor_wrn', 'razor_wrn.apis.train', 'razor_wrn.apis.test',
           'razor_wrn.apis.flops', 'razor_wrn.reproduce.row')


def job_context() -> multiprocessing.context.BaseContext:
    """The multiprocessing context the jobs start from: a forkserver that
    has imported :data:`PRELOAD`."""
    context = multiprocessing.get_context('forkserver')
    context.set_forkserver_preload(list(PRELOAD))
    return context


def error_line(error: Exception) -> str:
    """A job's error in one line: the message of a user error (it says
    what to fix), else the exception's type and message."""
    from razor_wrn.cli import USER_ERRORS
    text = str(error) or type(error).__name__
    if not isinstance(error, USER_ERRORS):
        text = f'{type(error).__name__}: {text}'
    return text


def run_function(module: str, function: str, args: Tuple, log_file: str,
                 threads: int, cwd: str, results: Connection) -> None:
    """Child entry: call ``function(*args)`` of the importable ``module``
    with its output in ``log_file``; send ``('done', return value)`` or
    ``('error', one-line message)`` through ``results``.

    Args:
        module (str): A module's import name, e.g.
            ``'razor_wrn.reproduce.row'``.
        function (str): Name of a function in it.
        args (tuple): Its (picklable) arguments.
        log_file (str): Where stdout and stderr go (appended: a resumed
            job keeps the earlier attempts' output above its own).
        threads (int): torch's intra-op threads for this process, so N
            jobs share the CPU cores instead of each taking all of them.
        cwd (str): The caller's working directory, which relative paths
            (configs, work dirs) are relative to; the forkserver keeps the
            one it started in.
        results (Connection): The sending end of a pipe to the parent.

    Raises:
        OSError: If ``cwd`` or the log file cannot be entered or written
            (the parent then sees the process end without a message).
    """
    os.chdir(cwd)
    os.makedirs(osp.dirname(osp.abspath(log_file)), exist_ok=True)
    with open(log_file, 'ab', buffering=0) as log:
        for fd in (1, 2):
            os.dup2(log.fileno(), fd)
    sys.stdout = open(1, 'w', buffering=1, closefd=False)
    sys.stderr = open(2, 'w', buffering=1, closefd=False)
    import torch
    torch.set_num_threads(threads)
    message: Optional[Tuple[str, Any]] = None
    try:
        message = ('done', getattr(importlib.import_module(module),
                                   function)(*args))
    except Exception as error:  # reported to the parent in one line
        traceback.print_exc()
        message = ('error', error_line(error))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        if message is not None:
            results.send(message)
        results.close()
