"""Evaluate a checkpoint on the config's test set.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR]
        [--out FILE [--out-item metrics|pred]] [--cfg-options k=v ...]
        [--launcher none|pytorch|slurm]

With a distillation config, the student is evaluated. The checkpoint must
fit the model exactly (strict loading). The command line and the evaluation
are :mod:`razor_wrn.apis.test`.
"""
from razor_wrn.apis.test import main, parse_args  # noqa: F401
from razor_wrn.cli import run_cli

if __name__ == '__main__':
    run_cli(main)
