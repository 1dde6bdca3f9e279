"""Parameters and multiply-accumulates (MACs) of a config's classifiers.

    python tools/analysis_tools/get_flops.py CONFIG [--shape 32 32]
        [--cfg-options k=v ...]

A vanilla config has one classifier (`model`); a distillation config has the
student (`model.architecture`) and the teacher (`model.teacher`), both built
without weights. What is counted, and how, is :mod:`razor_wrn.apis.flops`.
"""
from razor_wrn.apis.flops import (Complexity,  # noqa: F401
                                  classifier_configs, complexity,
                                  input_size, main, parse_args)
from razor_wrn.cli import UserError, load_config, run_cli  # noqa: F401

if __name__ == '__main__':
    run_cli(main)
