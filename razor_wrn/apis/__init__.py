"""What the command-line tools run, importable by name: ``train``
(tools/train.py), ``test`` (tools/test.py), ``flops``
(tools/analysis_tools/get_flops.py), ``curves``
(tools/analysis_tools/plot_curves.py) and ``reproduce`` (tools/reproduce.py;
its pieces are :mod:`razor_wrn.reproduce`). A tool is a thin script around
one of these, so what one tool runs of another (reproduce trains, evaluates,
counts and plots) is imported, never loaded from a script. Nothing here is
imported by ``import razor_wrn``."""
