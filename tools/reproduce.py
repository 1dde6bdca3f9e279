"""Train, evaluate and tabulate the rows of a results table.

    python tools/reproduce.py TABLE [--budget full|short] [--work-root DIR]
        [--data-root DIR] [--jobs N] [--compile] [--amp fp16|bf16]
        [--channels-last]

TABLE (``configs/tables/*.py``) names its rows: a config, optionally the
row whose final checkpoint is the row's teacher (``model.teacher_ckpt``),
the published top-1, extra ``--cfg-options`` and the ``seeds`` to run it
with. Each row (each seed: ``randomness.seed``) is trained with
tools/train.py in ``WORK_ROOT/<table>/<budget>/<row>[/seed_<S>]``
(teachers first), resumed (``--resume``) when a run there was interrupted,
skipped when it is done, and evaluated with tools/test.py. Written next to
the rows: ``results.md`` (top-1, top-5 (mean and sample standard deviation
over a row's seeds), parameters, MACs, training wall time, the reference
and the difference), ``results.json`` (the same, and every seed's run) and
``curves.png`` (the runs' loss terms and validation top-1,
plot_curves.py).

``--jobs N`` runs up to N rows (or seeds) at once, each in its own process
with its output in ``<its work dir>/reproduce.log`` and ``cpu_count / N``
torch threads; a student starts when its teacher's run has finished, with
that run's final checkpoint (a teacher with seeds: its first seed's).

``--budget short`` trains ``short.epochs`` epochs (lr /10 at half and three
quarters) on the first ``short.train_images`` training images and scores
the first ``short.test_images`` test images (the table sets them), so a
table runs on a CPU in about an hour; the title says so. A table may give
its teacher rows (those another row names as ``teacher``) a longer budget,
``short.teacher_epochs`` (default: ``short.epochs``), so that the teacher
is better than the student trained alone; the title then names both. A row
that fails gets one error line (and the rows that need it as teacher are
not run); the others go on, and the tool exits 1 at the end.

``--compile``, ``--amp fp16|bf16`` and ``--channels-last`` are passed to
each row's training as tools/train.py takes them: ``--compile`` trains
with ``CapturedEpochBasedTrainLoop`` (each step a replayed CUDA graph
where it can be recorded, eager tensor-batch steps on a CPU; the run's log
says which), ``--amp bf16`` in bf16 autocast without loss scaling (CPU or
GPU), ``--amp fp16`` in fp16 autocast with a dynamic loss scale (GPU only:
on a CPU every row fails with that error), ``--channels-last`` in NHWC
memory format. The evaluation is the same with or without them. A row
finished before is skipped, whatever it was trained with; an interrupted
one resumes with the flags given now.

The command line and the table's run are :mod:`razor_wrn.apis.reproduce`,
its pieces :mod:`razor_wrn.reproduce`.
"""
from razor_wrn.apis.reproduce import (ON_INTERRUPT, main,  # noqa: F401
                                      parse_args)
from razor_wrn.cli import run_cli

if __name__ == '__main__':
    run_cli(main, on_interrupt=ON_INTERRUPT)
