"""Training curves of several runs on one figure, from mmengine's logs.

    python tools/analysis_tools/plot_curves.py RUN_DIR [RUN_DIR ...]
        [--keys loss loss_kd accuracy/top1] [--labels NAME ...] --out PNG

RUN_DIR is a work dir (a run resumed with ``--resume`` gives one curve).
One panel per key: training scalars against the iteration, validation
scalars (``accuracy/top1``) against the epoch. Without ``--keys``: every
``loss*`` key of any run, then ``accuracy/top1``. The reading and drawing
are :mod:`razor_wrn.apis.curves`.
"""
from razor_wrn.apis.curves import (Curve, default_keys,  # noqa: F401
                                   main, parse_args, plot, read_curves,
                                   scalar_files)
from razor_wrn.cli import UserError, run_cli  # noqa: F401

if __name__ == '__main__':
    run_cli(main)
