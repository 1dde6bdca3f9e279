"""Run functions of the scripts in ``tools/`` in processes of their own.

``tools/reproduce.py --jobs N`` trains up to N table rows at once, each in
its own process. The processes are forked from a forkserver that has
imported ``razor_wrn`` (torch, mmengine, mmpretrain, mmrazor) and the
:mod:`razor_wrn.apis` modules the tools call (:data:`PRELOAD`) once: a
fresh interpreter per row would pay those imports (seconds) every time,
and forking the calling process itself would copy whatever state it holds
(a CUDA context cannot cross a fork). A job's function and arguments are
pickled, so :func:`run_script_function` lives here, importable by name,
and loads the script by its path; what the script calls (training,
evaluation, counting) it imports from the package, not from other scripts.
"""
import importlib.util
import multiprocessing
import os
import os.path as osp
import sys
import traceback
from multiprocessing.connection import Connection
from typing import Any, Optional, Tuple


def load_script(path: str):
    """A script (e.g. ``tools/train.py``) as a module, to call its
    functions."""
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# What the forkserver imports before it forks a job: the package and what
# the tools' jobs call (tools/reproduce.py's run_row trains, evaluates and
# counts; the script also imports the curves, and with them matplotlib).
PRELOAD = ('razor_wrn', 'razor_wrn.apis.train', 'razor_wrn.apis.test',
           'razor_wrn.apis.flops', 'razor_wrn.apis.curves')


def job_context() -> multiprocessing.context.BaseContext:
    """The multiprocessing context the jobs start from: a forkserver that
    has imported :data:`PRELOAD`."""
    context = multiprocessing.get_context('forkserver')
    context.set_forkserver_preload(list(PRELOAD))
    return context


def run_script_function(script: str, function: str, args: Tuple,
                        log_file: str, threads: int, cwd: str,
                        results: Connection) -> None:
    """Child entry: call ``function(*args)`` of the script at ``script``
    with its output in ``log_file``; send ``('done', return value)`` or
    ``('error', one-line message)`` through ``results``.

    Args:
        script (str): Path of the script.
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
    """
    from razor_wrn.cli import USER_ERRORS
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
        message = ('done', getattr(load_script(script), function)(*args))
    except Exception as error:  # reported to the parent in one line
        traceback.print_exc()
        text = str(error) or type(error).__name__
        if not isinstance(error, USER_ERRORS):
            text = f'{type(error).__name__}: {text}'
        message = ('error', text)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        if message is not None:
            results.send(message)
        results.close()
