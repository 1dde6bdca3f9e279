"""Train a model from a config: a plain WRN or a distillation.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]]
        [--amp [fp16|bf16]] [--compile] [--channels-last] [--auto-scale-lr] [--no-validate] [--tensorboard]
        [--cfg-options k=v ...]
        [--launcher none|pytorch|slurm]

The command line and the training are :mod:`razor_wrn.apis.train`.
"""
from razor_wrn.apis.train import (ON_INTERRUPT, main,  # noqa: F401
                                  merge_args, parse_args, use_amp,
                                  use_captured_loop)
from razor_wrn.cli import run_cli

if __name__ == '__main__':
    run_cli(main, on_interrupt=ON_INTERRUPT)
