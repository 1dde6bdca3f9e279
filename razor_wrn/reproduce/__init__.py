"""What ``tools/reproduce.py`` runs on a results table, importable by name
(its command line is :mod:`razor_wrn.apis.reproduce`).

- :mod:`.table`: the table file, its rows' seeds and budget options.
- :mod:`.jobs`: one :class:`Job` per row and seed, its folder and options.
- :mod:`.row`: one run: train (resume, skip), evaluate, count.
- :mod:`.processes`: the jobs here one by one, or N at once in processes.
- :mod:`.results`: each row's result, the title, results.md and .json.

Not imported by ``import razor_wrn``.
"""
from .jobs import Job, table_jobs
from .processes import run_in_processes, run_in_this_process
from .results import markdown, row_result, title, write_results
from .row import run_row
from .table import load_table, row_seeds

__all__ = ['Job', 'load_table', 'markdown', 'row_result', 'row_seeds',
           'run_in_processes', 'run_in_this_process', 'run_row',
           'table_jobs', 'title', 'write_results']
