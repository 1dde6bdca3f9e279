"""Running a table's jobs: one after the other in this process, or up to
N at once, each in a process of its own forked from a forkserver
(:mod:`razor_wrn.script_jobs`), a student after its teacher's run.

Either way a failed run is one error line and the other runs go on; a
student of a failed teacher fails without training.
"""
import os
import os.path as osp
from multiprocessing.connection import wait
from typing import Dict, List

from razor_wrn.script_jobs import error_line, job_context, run_function
from .jobs import Job, RunKey, teacher_options
from .row import is_finished, run_row


def run_in_this_process(jobs: List[Job]) -> Dict[RunKey, dict]:
    """Run the jobs one after the other here (``--jobs 1``).

    Returns:
        dict: ``{job key: run_row's result or dict(error=one line)}``.
    """
    runs: Dict[RunKey, dict] = {}
    for job in jobs:
        try:
            runs[job.key] = run_row(job.row, job.work_dir, [
                *job.options, *teacher_options(job, runs)], job.train_args)
        except Exception as error:  # one line per failed run, then the rest
            runs[job.key] = dict(error=error_line(error))
            print(f'ERROR: {job.label}: {runs[job.key]["error"]}')
    return runs


def run_in_processes(jobs: List[Job], max_jobs: int) -> Dict[RunKey, dict]:
    """Run up to ``max_jobs`` jobs at once, each in its own process with
    its output in ``<its work dir>/reproduce.log`` and ``cpu_count /
    max_jobs`` torch threads; a student waits for its teacher's run. A
    finished run is read here, without a process.

    Returns:
        dict: ``{job key: run_row's result or dict(error=one line)}``.
    """
    context = job_context()
    threads = max(1, (os.cpu_count() or 1) // max_jobs)
    waiting, runs = list(jobs), {}
    running: Dict[int, tuple] = {}  # process sentinel -> job, process, pipe
    try:
        while waiting or running:
            for job in list(waiting):
                if len(running) == max_jobs:
                    break
                if job.teacher is not None and job.teacher not in runs:
                    continue  # its teacher is still waiting or running
                waiting.remove(job)
                try:
                    options = [*job.options, *teacher_options(job, runs)]
                    if is_finished(job.row['config'], job.work_dir, options):
                        # Read here: no process, nothing trained again.
                        runs[job.key] = run_row(job.row, job.work_dir,
                                                options, job.train_args)
                        print(f'finished before: {job.label}', flush=True)
                        continue
                except Exception as error:  # as a job's own error
                    runs[job.key] = dict(error=error_line(error))
                    print(f'ERROR: {job.label}: {runs[job.key]["error"]}')
                    continue
                log_file = osp.join(job.work_dir, 'reproduce.log')
                receive, send = context.Pipe(duplex=False)
                # Named by module and function: the forkserver's child
                # imports it, nothing is loaded by a file's path.
                process = context.Process(
                    target=run_function, name=job.label, args=(
                        run_row.__module__, run_row.__name__,
                        (job.row, job.work_dir, options, job.train_args),
                        log_file, threads, os.getcwd(), send))
                process.start()
                send.close()  # the child holds the only sending end now
                running[process.sentinel] = (job, process, receive)
                print(f'started {job.label} (log: {log_file})', flush=True)
            for sentinel in wait(list(running)):
                job, process, receive = running.pop(sentinel)
                process.join()
                try:
                    status, value = receive.recv()
                except EOFError:  # killed, or died in the interpreter
                    status, value = 'error', (
                        f'its process ended with exit code '
                        f'{process.exitcode}; see '
                        f'{osp.join(job.work_dir, "reproduce.log")}')
                receive.close()
                if status == 'done':
                    runs[job.key] = value
                    print(f'finished {job.label}: top-1 '
                          f'{value["top1"]:.2f}', flush=True)
                else:
                    runs[job.key] = dict(error=value)
                    print(f'ERROR: {job.label}: {value}', flush=True)
    finally:  # an interrupted table: its runs stop (and resume next time)
        for _, process, _ in running.values():
            process.terminate()
            process.join()
    return runs
